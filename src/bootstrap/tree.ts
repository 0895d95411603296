/** What one project (the root or a workspace) has installed: every package of its dependency closure. */
export interface DependencyTree {
  /** Package name -> the versions installed (a package can be installed at several). */
  readonly versions: Map<string, Set<string>>;
  /** Names the project's own package.json lists. */
  readonly direct: Set<string>;
}

export function emptyTree(): DependencyTree {
  return { versions: new Map(), direct: new Set() };
}

export function addVersion(tree: DependencyTree, name: string, version: string): void {
  const set = tree.versions.get(name) ?? new Set<string>();
  set.add(version);
  tree.versions.set(name, set);
}

export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The names and ranges of a manifest's (or lock entry's) dependency maps, in the order given. */
export function depEntries(o: Json, keys: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (const k of keys) {
    const d = o[k];
    if (!isObject(d)) continue;
    for (const [name, spec] of Object.entries(d)) out.push([name, typeof spec === 'string' ? spec : isObject(spec) && typeof spec.version === 'string' ? spec.version : '']);
  }
  return out;
}

/** A project's own dependencies, dev ones included: the app runs its tests with them too. */
export const OWN_DEPS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;
/** What a dependency brings along when installed. */
export const TRANSITIVE_DEPS = ['dependencies', 'optionalDependencies', 'peerDependencies'] as const;
