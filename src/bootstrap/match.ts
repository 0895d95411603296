import { builtinModules } from 'node:module';
import { CATALOG } from '../catalog/catalog.generated';
import { EXTRAS, type ExtraInstrumentation } from '../catalog/extras';
import type { InstrumentationDescriptor, TargetModule } from '../catalog/types';
import type { Values } from '../config/table';
import type { Plugin } from '../plugins/types';
import type { DependencyTree } from './tree';

type Semver = typeof import('semver');

/**
 * - active: bundled with otel-autoinstrument or installed in the app, and loaded when the library is;
 * - disabled: installed or bundled, but the configuration turns it off;
 * - unsupported: the installed library version is outside the instrumentation's range;
 * - missing: an instrumentation we know of, not installed: `install` adds it;
 * - unavailable: not installed, and no release of it fits (see reason).
 */
export type Status = 'active' | 'disabled' | 'unsupported' | 'missing' | 'unavailable';
export type Source = 'bundled' | 'plugin' | 'installable';

export interface Row {
  readonly workspace: string;
  readonly library: string;
  readonly version: string;
  /** Listed in the workspace's own package.json (else only a dependency of a dependency). */
  readonly direct: boolean;
  /** The instrumentation's short name (OTEL_NODE_ENABLED_INSTRUMENTATIONS). */
  readonly name: string;
  readonly instrumentation: string;
  /** Installed (bundled or plugin) version, or the version `install` would add. */
  instrumentationVersion: string | undefined;
  readonly source: Source;
  status: Status;
  reason?: string;
  /** For missing rows once a version is picked: name@version, what `install` adds. */
  spec?: string;
  notes?: string[];
}

const BUILTIN = new Set(builtinModules);

/** Why the config turns `d` off, or undefined when it is selected. */
function disabledReason(d: InstrumentationDescriptor, v: Values, selected: ReadonlySet<string>): string | undefined {
  if (selected.has(d.name)) return undefined;
  if (v.OTEL_NODE_DISABLED_INSTRUMENTATIONS.includes(d.name)) return `OTEL_NODE_DISABLED_INSTRUMENTATIONS lists "${d.name}"`;
  if (v.OTEL_NODE_ENABLED_INSTRUMENTATIONS.length > 0) return `OTEL_NODE_ENABLED_INSTRUMENTATIONS does not list "${d.name}"`;
  if (d.metricsOnly) return 'it records metrics only, and OTEL_METRICS_EXPORTER is none';
  return `off by default; add "${d.name}" to OTEL_NODE_ENABLED_INSTRUMENTATIONS to turn it on`;
}

/** Why `version` of `m.name` is outside the ranges, or undefined when one range accepts it. */
export function unsupportedReason(m: TargetModule, version: string, owner: string, semver: Semver): string | undefined {
  // Upstream checks with semver's defaults (no includePrerelease), so a prerelease is outside
  // every range that does not name a prerelease of the same version; we answer the same way.
  if (m.versions.some((r) => semver.satisfies(version, r))) return undefined;
  const ranges = m.versions.join(' || ');
  if (semver.prerelease(version) !== null) return `${m.name} ${version} is a prerelease, which ${owner}'s supported range ${ranges} does not include`;
  return `${m.name} ${version} is outside ${owner}'s supported range ${ranges}`;
}

export interface MatchInput {
  readonly workspace: string;
  readonly tree: DependencyTree;
  /** Plugins found for this workspace (their "otel" fields and installed extras). */
  readonly plugins: readonly Plugin[];
  /** Plugin instrumentations whose names are free (what the hook would load). */
  readonly pluginInstrumentations: readonly InstrumentationDescriptor[];
  readonly values: Values;
  /** Names the configuration selects among the catalog and plugin instrumentations. */
  readonly selected: ReadonlySet<string>;
}

/** One row per installed library version and instrumentation that targets it. */
export function match(input: MatchInput): Row[] {
  const semver = require('semver') as Semver;
  const rows: Row[] = [];
  const { tree, workspace } = input;
  const each = (modules: readonly TargetModule[], fn: (m: TargetModule, version: string, direct: boolean) => void): void => {
    for (const m of modules) {
      if (BUILTIN.has(m.name)) continue;
      for (const version of [...(tree.versions.get(m.name) ?? [])].sort()) fn(m, version, tree.direct.has(m.name));
    }
  };
  const active = (d: InstrumentationDescriptor, source: Source, instrumentationVersion: string | undefined): void => {
    each(d.modules, (m, version, direct) => {
      const owner = `${d.package}${instrumentationVersion ? ` ${instrumentationVersion}` : ''}`;
      const unsupported = unsupportedReason(m, version, owner, semver);
      const off = disabledReason(d, input.values, input.selected);
      const status: Status = unsupported ? 'unsupported' : off ? 'disabled' : 'active';
      rows.push({ workspace, library: m.name, version, direct, name: d.name, instrumentation: d.package, instrumentationVersion, source, status, ...(unsupported ?? off ? { reason: unsupported ?? off } : {}) });
    });
  };
  for (const d of CATALOG) if (d.activation === 'module') active(d, 'bundled', d.packageVersion);
  const pluginVersion = new Map(input.plugins.map((p) => [p.packageName, p.version]));
  for (const d of input.pluginInstrumentations) active(d, 'plugin', pluginVersion.get(d.package));
  const installed = new Set(input.pluginInstrumentations.map((d) => d.package));
  for (const e of EXTRAS) if (!installed.has(e.package)) installable(e);
  return rows;

  function installable(e: ExtraInstrumentation): void {
    each(e.modules, (m, version, direct) => {
      const unsupported = unsupportedReason(m, version, e.package, semver);
      const transitive = tree.versions.has(e.package) ? `${e.package} is installed only as a dependency of another package; the hook loads it when the app lists it itself` : undefined;
      const row: Row = { workspace, library: m.name, version, direct, name: e.name, instrumentation: e.package, instrumentationVersion: undefined, source: 'installable', status: unsupported ? 'unsupported' : 'missing' };
      if (unsupported ?? transitive) row.reason = unsupported ?? transitive;
      rows.push(row);
    });
  }
}
