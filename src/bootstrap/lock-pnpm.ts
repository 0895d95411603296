import { posix } from 'node:path';
import type { Workspace } from './project';
import { addVersion, depEntries, emptyTree, isObject, OWN_DEPS, type DependencyTree, type Json } from './tree';

/** Resolved dependencies only: a v6 "peerDependencies" map holds ranges, and the resolved peers are in "dependencies". */
const LOCKED_DEPS = ['dependencies', 'optionalDependencies'] as const;
/** "5.2.1(@opentelemetry/api@1.10.0)" -> "5.2.1"; peers resolved for this copy sit in parentheses. */
const plain = (v: string): string => v.replace(/\(.*$/, '');

/**
 * pnpm-lock.yaml, lockfileVersion 6 to 9: "importers" has one entry per workspace ("." for the
 * root) with the resolved version of each dependency; "snapshots" (v9) or "packages" (v6) has
 * each package's own dependencies, keyed by name@version (v6 with a leading "/").
 */
export function pnpmLockTrees(lock: Json, workspaces: readonly Workspace[]): Map<string, DependencyTree> {
  const major = Number.parseInt(String(lock.lockfileVersion ?? ''), 10);
  if (!(major >= 6)) throw new Error(`lockfileVersion ${String(lock.lockfileVersion)} is older than 6 (pnpm 8); run pnpm install with a current pnpm to update it`);
  const importers = isObject(lock.importers) ? lock.importers : {};
  const snapshots = isObject(lock.snapshots) ? lock.snapshots : {};
  const packages = isObject(lock.packages) ? lock.packages : {};
  const node = (key: string): Json | undefined => {
    for (const v of [snapshots[key], packages[key], packages[`/${key}`]]) if (isObject(v)) return v;
    return undefined;
  };
  const out = new Map<string, DependencyTree>();
  for (const ws of workspaces) {
    const tree = emptyTree();
    const seen = new Set<string>();
    const visitImporter = (rel: string, isOwn: boolean): void => {
      const imp = importers[rel];
      if (!isObject(imp) || seen.has(`importer:${rel}`)) return;
      seen.add(`importer:${rel}`);
      for (const [name, version] of depEntries(imp, OWN_DEPS)) {
        if (isOwn) tree.direct.add(name);
        visit(name, version, rel);
      }
    };
    const visit = (name: string, version: string, fromRel: string): void => {
      if (version.startsWith('link:')) {
        // Another workspace of the same repository.
        visitImporter(posix.normalize(posix.join(fromRel, version.slice(5))) || '.', false);
        return;
      }
      // An alias ("npm:other@1.0.0" in the manifest) is locked as "other@1.0.0".
      const at = version.lastIndexOf('@');
      const [realName, realVersion] = at > 0 && !/^\d/.test(version) ? [version.slice(0, at), version.slice(at + 1)] : [name, version];
      const key = `${realName}@${realVersion}`;
      if (seen.has(key)) return;
      seen.add(key);
      const n = node(key);
      addVersion(tree, name, plain(realVersion));
      if (n !== undefined) for (const [dep, v] of depEntries(n, LOCKED_DEPS)) visit(dep, v, fromRel);
    };
    visitImporter(ws.rel, true);
    // Names listed in package.json but not yet in the lockfile still count as direct.
    for (const [name] of depEntries(ws.manifest, OWN_DEPS)) tree.direct.add(name);
    out.set(ws.rel, tree);
  }
  return out;
}
