import type { InstrumentationDescriptor } from '../catalog/types';
import type { Values } from '../config/table';
import { discover } from './discover';
import type { ConfiguratorDescriptor, Discovery, DistroDescriptor, Plugin } from './types';

export interface Plugins {
  readonly discovery: Discovery;
  readonly distro: DistroDescriptor | undefined;
  /** Plugin instrumentations whose names are free (a clash with the catalog or an earlier plugin loses). */
  readonly instrumentations: readonly InstrumentationDescriptor[];
  /** In run order: the active distro's package first, then by package name, then by name. */
  readonly configurators: readonly ConfiguratorDescriptor[];
  readonly warnings: readonly string[];
}

const label = (p: Plugin): string => `${p.packageName}@${p.version}`;

export function loadPlugins(values: Values, taken: ReadonlySet<string>, script: string | undefined, cwd: string): Plugins {
  // semver (47 files) is loaded only if some package declares an instrumentation to check.
  const validRange = (r: string): boolean => (require('semver/ranges/valid') as (range: string) => string | null)(r) !== null;
  const discovery = discover({ script, cwd, disabled: values.OTEL_NODE_DISABLED_PLUGINS, validRange });
  const warnings = [...discovery.warnings];

  const withDistro = discovery.plugins.filter((p) => p.distro !== undefined);
  let active: Plugin | undefined;
  const wanted = values.OTEL_NODE_DISTRO;
  if (wanted === 'none') active = undefined;
  else if (wanted !== undefined) {
    active = withDistro.find((p) => p.distro?.name === wanted);
    if (active === undefined) {
      const have = withDistro.map((p) => `${p.distro?.name} (${label(p)})`).join(', ') || 'none';
      warnings.push(`OTEL_NODE_DISTRO="${wanted}" names no installed distro (installed: ${have}); using none`);
    }
  } else {
    active = withDistro[0];
    if (withDistro.length > 1 && active) {
      const others = withDistro.slice(1).map((p) => `${p.distro?.name} (${label(p)})`).join(', ');
      warnings.push(`several distros are installed; using ${active.distro?.name} (${label(active)}), not ${others}; set OTEL_NODE_DISTRO to choose`);
    }
  }

  const names = new Set(taken);
  const instrumentations: InstrumentationDescriptor[] = [];
  for (const p of discovery.plugins) {
    for (const d of p.instrumentations) {
      if (names.has(d.name)) {
        warnings.push(`plugin ${label(p)}: instrumentation name "${d.name}" is already taken; skipped`);
        continue;
      }
      names.add(d.name);
      instrumentations.push(d);
    }
  }

  // A package that declares a distro brings its configurators with it: they run only when that distro is the active one.
  const eligible = discovery.plugins.filter((p) => p.distro === undefined || p === active);
  const ordered = [...(active ? [active] : []), ...eligible.filter((p) => p !== active)];
  const configurators = ordered.flatMap((p) => [...p.configurators].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));

  return { discovery, distro: active?.distro, instrumentations, configurators, warnings };
}
