import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CATALOG } from '../catalog/catalog.generated';
import { EXTRAS_BY_PACKAGE } from '../catalog/extras';
import { effectiveConfig } from '../config/effective';
import { parseConfig } from '../config/parse';
import { loadPlugins } from '../plugins';
import { selectInstrumentations } from '../selection';
import { BootstrapError } from './errors';
import { hasNodeModules, readInstalled } from './installed';
import { lockfileTrees } from './lockfile';
import { match, type Row } from './match';
import { detectPackageManager, type PackageManager } from './package-manager';
import { pickVersion } from './pick-version';
import { readProject, type Project, type Workspace } from './project';
import { fetchPackument, registryUrl } from './registry';
import type { DependencyTree, Json } from './tree';

export interface AnalyzeOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** A workspace name or directory (relative to the root); all of them when unset. */
  readonly workspace?: string;
  readonly registry?: string;
  readonly timeoutMs: number;
  readonly progress: (line: string) => void;
}

export interface PluginRow {
  readonly workspace: string;
  readonly package: string;
  readonly version: string;
  readonly instrumentations: readonly string[];
}

export interface Analysis {
  readonly project: Project;
  readonly pm: PackageManager;
  /** Where the installed versions came from: "node_modules" or the lockfile's name. */
  readonly source: string;
  readonly workspaces: readonly Workspace[];
  readonly rows: readonly Row[];
  readonly plugins: readonly PluginRow[];
  readonly warnings: readonly string[];
  /** Our own @opentelemetry/* versions, which instrumentations must share. */
  readonly ours: Readonly<Record<string, string>>;
  readonly registry: string;
}

/** The installed version of each @opentelemetry/* package otel-autoinstrument depends on. */
export function ourVersions(): Record<string, string> {
  const root = join(__dirname, '..', '..');
  const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const out: Record<string, string> = {};
  for (const name of Object.keys(own.dependencies ?? {}).filter((n) => n.startsWith('@opentelemetry/'))) {
    for (let dir = root; ; dir = dirname(dir)) {
      const p = join(dir, 'node_modules', name, 'package.json');
      if (existsSync(p)) {
        out[name] = (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
        break;
      }
      if (dirname(dir) === dir) break;
    }
  }
  return out;
}

function pickWorkspaces(project: Project, wanted: string | undefined): Workspace[] {
  if (wanted === undefined) return project.focus ? [project.focus] : [...project.workspaces];
  const norm = wanted.replace(/^\.\//, '').replace(/\/+$/, '') || '.';
  const ws = project.workspaces.find((w) => w.name === wanted || w.rel === norm);
  if (ws === undefined) throw new BootstrapError(`--workspace ${wanted}: no such workspace (have: ${project.workspaces.map((w) => w.name).join(', ')})`, 2);
  return [ws];
}

export async function analyze(o: AnalyzeOptions): Promise<Analysis> {
  const project = readProject(o.cwd);
  const pm = detectPackageManager(project);
  const warnings: string[] = pm.warning ? [pm.warning] : [];
  const workspaces = pickWorkspaces(project, o.workspace);
  // The lockfile is read whenever there is one: a broken one would break the install too.
  const locked = pm.lockfile ? lockfileTrees(project, pm.lockfile) : undefined;
  const installed = hasNodeModules(project.workspaces[0] as Workspace, project.root);
  if (!installed && locked === undefined) throw new BootstrapError(`nothing is installed in ${project.root} and there is no lockfile: run ${pm.name} install first`);
  const source = installed ? 'node_modules' : (pm.lockfile as string);

  const eff = effectiveConfig(o.env);
  if (!eff.ok) warnings.push(`configuration file: ${eff.error}; statuses below ignore it`);
  const values = eff.ok ? eff.config.values : parseConfig(o.env).values;
  const rows: Row[] = [];
  const plugins: PluginRow[] = [];
  const catalogNames = new Set(CATALOG.map((d) => d.name));
  for (const ws of workspaces) {
    const tree: DependencyTree = installed ? readInstalled(ws) : (locked?.get(ws.rel) as DependencyTree);
    const found = loadPlugins(values, catalogNames, undefined, ws.dir);
    for (const w of found.warnings) if (!warnings.includes(w)) warnings.push(w);
    const selected = new Set(selectInstrumentations(values, [...CATALOG, ...found.instrumentations]).map((d) => d.name));
    const own = found.discovery.plugins.filter((p) => p.instrumentations.length > 0);
    for (const p of own) plugins.push({ workspace: ws.name, package: p.packageName, version: p.version, instrumentations: p.instrumentations.map((d) => d.name) });
    rows.push(...match({ workspace: ws.name, tree, plugins: own, pluginInstrumentations: found.instrumentations, values, selected }));
  }
  const registry = registryUrl(o.registry, o.env);
  const ours = ourVersions();
  await pickMissing(rows, registry, ours, o, warnings);
  return { project, pm, source, workspaces, rows, plugins, warnings, ours, registry };
}

/** Picks a release for each missing instrumentation; one registry request per package. */
async function pickMissing(rows: Row[], registry: string, ours: Record<string, string>, o: AnalyzeOptions, warnings: string[]): Promise<void> {
  const missing = rows.filter((r) => r.status === 'missing');
  const packuments = new Map<string, Promise<Json>>();
  for (const r of missing) {
    const extra = EXTRAS_BY_PACKAGE.get(r.instrumentation);
    if (extra === undefined) continue;
    if (!packuments.has(r.instrumentation)) {
      o.progress(`reading ${r.instrumentation} from ${registry}`);
      const p = fetchPackument(r.instrumentation, registry, o.timeoutMs);
      p.catch(() => undefined);
      packuments.set(r.instrumentation, p);
    }
    let packument: Json;
    try {
      packument = await (packuments.get(r.instrumentation) as Promise<Json>);
    } catch (err) {
      r.reason = (err as Error).message;
      if (!warnings.includes(r.reason)) warnings.push(r.reason);
      continue;
    }
    const semver = require('semver') as typeof import('semver');
    const major = extra.sameMajorAs === r.library ? { of: r.library, value: semver.major(r.version) } : undefined;
    const picked = pickVersion(r.instrumentation, packument, { ours, ...(major ? { major } : {}) });
    if (picked.ok) {
      r.instrumentationVersion = picked.version;
      r.spec = `${r.instrumentation}@${picked.version}`;
      if (picked.notes.length > 0) r.notes = [...picked.notes];
    } else {
      r.status = 'unavailable';
      r.reason = picked.reason;
    }
  }
}
