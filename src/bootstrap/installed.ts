import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Workspace } from './project';
import { addVersion, depEntries, emptyTree, isObject, OWN_DEPS, TRANSITIVE_DEPS, type DependencyTree, type Json } from './tree';

/** Where Node would find package `name` from `from`: the first node_modules/<name> walking up. */
function packageDir(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Whether anything is installed for this project: a node_modules at the workspace or the root. */
export function hasNodeModules(ws: Workspace, root: string): boolean {
  return existsSync(join(ws.dir, 'node_modules')) || existsSync(join(root, 'node_modules'));
}

/**
 * The packages a project actually has, read from node_modules the way Node resolves them: each
 * dependency from the directory of the package that depends on it, symlinks followed (pnpm).
 * Works the same for npm, pnpm and yarn's node_modules linker.
 */
export function readInstalled(ws: Workspace): DependencyTree {
  const tree = emptyTree();
  const seen = new Set<string>();
  const visit = (name: string, from: string): void => {
    const dir = packageDir(name, from);
    if (dir === undefined) return;
    let real: string;
    let pkg: Json;
    try {
      real = realpathSync(dir);
      const v: unknown = JSON.parse(readFileSync(join(real, 'package.json'), 'utf8'));
      if (!isObject(v)) return;
      pkg = v;
    } catch {
      return; // a broken package is not ours to report; the package manager will
    }
    const key = `${name}\0${real}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (typeof pkg.version === 'string') addVersion(tree, name, pkg.version);
    for (const [dep] of depEntries(pkg, TRANSITIVE_DEPS)) visit(dep, real);
  };
  for (const [name] of depEntries(ws.manifest, OWN_DEPS)) {
    tree.direct.add(name);
    visit(name, ws.dir);
  }
  return tree;
}
