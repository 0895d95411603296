import { posix } from 'node:path';
import type { Workspace } from './project';
import { addVersion, depEntries, emptyTree, isObject, OWN_DEPS, TRANSITIVE_DEPS, type DependencyTree, type Json } from './tree';

/**
 * package-lock.json (lockfileVersion 2 or 3, npm 7 and later): its "packages" map is keyed by
 * install location ("node_modules/a/node_modules/b", "packages/web" for a workspace), so each
 * dependency is found the way Node would, walking up from the dependent's location.
 */
export function npmLockTrees(lock: Json, workspaces: readonly Workspace[]): Map<string, DependencyTree> {
  const packages = lock.packages;
  if (!isObject(packages)) throw new Error(`lockfileVersion ${String(lock.lockfileVersion)} has no "packages" map (npm 7 or later writes one)`);
  const entry = (loc: string): Json | undefined => {
    const e = packages[loc];
    return isObject(e) ? e : undefined;
  };
  const find = (name: string, from: string): [string, Json] | undefined => {
    for (let loc = from; ; loc = posix.dirname(loc)) {
      const at = loc === '' || loc === '.' ? `node_modules/${name}` : `${loc}/node_modules/${name}`;
      const e = entry(at);
      if (e !== undefined) {
        // A workspace package, or a file: dependency, is a link to its real location.
        if (e.link === true && typeof e.resolved === 'string') {
          const target = entry(e.resolved);
          return target === undefined ? undefined : [e.resolved, target];
        }
        return [at, e];
      }
      if (loc === '' || loc === '.') return undefined;
    }
  };
  const out = new Map<string, DependencyTree>();
  for (const ws of workspaces) {
    const tree = emptyTree();
    const seen = new Set<string>();
    const visit = (name: string, from: string): void => {
      const hit = find(name, from);
      if (hit === undefined) return;
      const [loc, e] = hit;
      if (seen.has(loc)) return;
      seen.add(loc);
      if (typeof e.version === 'string') addVersion(tree, name, e.version);
      for (const [dep] of depEntries(e, TRANSITIVE_DEPS)) visit(dep, loc);
    };
    const from = ws.rel === '.' ? '' : ws.rel;
    for (const [name] of depEntries(ws.manifest, OWN_DEPS)) {
      tree.direct.add(name);
      visit(name, from);
    }
    out.set(ws.rel, tree);
  }
  return out;
}
