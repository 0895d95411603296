import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EXTRAS_BY_PACKAGE } from '../catalog/extras';
import { errorText } from '../log';
import { extraPlugin } from './extras';
import { readField } from './field';
import type { Discovery, Plugin } from './types';

type Json = Record<string, unknown>;

/** The directory of the nearest package.json at or above `start`. */
export function findRoot(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Where Node would find package `name` from `from`: the first node_modules/<name> walking up. */
function packageDir(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function readJson(path: string): Json | undefined {
  const raw = readFileSync(path, 'utf8');
  // Most dependencies have no "otel" field: skip their JSON.parse.
  if (!raw.includes('"otel"')) return undefined;
  const v: unknown = JSON.parse(raw);
  return typeof v === 'object' && v !== null ? (v as Json) : undefined;
}

export interface DiscoverOptions {
  /** The entry script (process.argv[1]); the working directory when there is none. */
  readonly script: string | undefined;
  readonly cwd: string;
  /** Package names to ignore; "all" turns discovery off. */
  readonly disabled: readonly string[];
  readonly validRange: (range: string) => boolean;
}

/**
 * Reads the "otel" field of the app's own package.json and of every package it depends on, plus
 * the packages those name in "otel".plugins. Nothing is cached: every start reads the files as
 * they are now.
 */
export function discover(o: DiscoverOptions): Discovery {
  if (o.disabled.includes('all')) return { root: undefined, plugins: [], warnings: [] };
  let start = o.cwd;
  if (o.script) {
    try {
      start = dirname(realpathSync.native(o.script));
    } catch {
      // a script we cannot see (node -e, a virtual path): the working directory will do
    }
  }
  const root = findRoot(start);
  if (root === undefined) return { root, plugins: [], warnings: [] };
  const warnings: string[] = [];
  const plugins: Plugin[] = [];
  const seen = new Set<string>();

  const visit = (dir: string): void => {
    let pkg: Json | undefined;
    try {
      pkg = readJson(join(dir, 'package.json'));
    } catch (err) {
      warnings.push(`plugin discovery: ${join(dir, 'package.json')} could not be read (${errorText(err)}); skipped`);
      return;
    }
    if (pkg === undefined || pkg.otel === undefined) return;
    // Only a package with a field is deduplicated (a plugin named twice, or reached through a
    // link): most have none, and the JS realpathSync costs an lstat per path component, about
    // two thirds of discovery's time over 66 dependencies (docs/performance.md, Startup).
    let real: string;
    try {
      real = realpathSync.native(dir);
    } catch {
      return;
    }
    if (seen.has(real)) return;
    seen.add(real);
    if (typeof pkg.name === 'string' && o.disabled.includes(pkg.name)) return;
    const r = readField(pkg, dir, o.validRange);
    warnings.push(...r.warnings);
    if (r.plugin) plugins.push(r.plugin);
    for (const name of r.more) {
      const d = packageDir(name, dir);
      if (d === undefined) warnings.push(`plugin ${r.plugin?.packageName ?? dir}: "otel".plugins names ${name}, which is not installed; skipped`);
      else visit(d);
    }
  };

  let rootPkg: Json;
  try {
    rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Json;
  } catch (err) {
    return { root, plugins: [], warnings: [`plugin discovery: ${join(root, 'package.json')} could not be read (${errorText(err)}); no plugins loaded`] };
  }
  visit(root);
  const deps = new Set<string>();
  for (const key of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    const d = rootPkg[key];
    if (typeof d === 'object' && d !== null) for (const name of Object.keys(d)) deps.add(name);
  }
  for (const name of [...deps].sort()) {
    const d = packageDir(name, root);
    if (d === undefined) continue;
    const extra = EXTRAS_BY_PACKAGE.get(name);
    if (extra !== undefined && !o.disabled.includes(name)) {
      // A known instrumentation without an "otel" field of its own (src/catalog/extras.ts).
      try {
        const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as Json;
        if (pkg.otel === undefined) {
          seen.add(realpathSync.native(d));
          plugins.push(extraPlugin(extra, pkg, d, root));
          continue;
        }
      } catch (err) {
        warnings.push(`plugin ${name}: installed but not usable (${errorText(err)}); skipped`);
        continue;
      }
    }
    visit(d);
  }
  plugins.sort((a, b) => (a.packageName < b.packageName ? -1 : a.packageName > b.packageName ? 1 : 0));
  return { root, plugins, warnings };
}
