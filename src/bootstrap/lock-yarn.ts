import type { Workspace } from './project';
import { addVersion, depEntries, emptyTree, isObject, OWN_DEPS, type DependencyTree, type Json } from './tree';

const LOCKED_DEPS = ['dependencies', 'optionalDependencies'] as const;

const unquote = (s: string): string => (s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s);

/** `"a b" "c"` -> ['a b', 'c']; yarn classic quotes only where needed. */
function tokens(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

/** Yarn classic's own format (`# yarn lockfile v1`): descriptor lists, then indented fields. */
export function parseYarnClassic(text: string): Map<string, Json> {
  const entries = new Map<string, Json>();
  let current: Json | undefined;
  let section: Json | undefined;
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const indent = line.length - line.trimStart().length;
    const body = line.trim();
    if (indent === 0) {
      if (!body.endsWith(':')) throw new Error(`line ${i + 1} is not a package entry`);
      current = {};
      section = undefined;
      for (const d of body.slice(0, -1).split(/,\s*/)) entries.set(unquote(d.trim()), current);
      return;
    }
    if (current === undefined) throw new Error(`line ${i + 1} has no package entry above it`);
    if (indent === 2) {
      if (body.endsWith(':')) {
        section = {};
        current[unquote(body.slice(0, -1))] = section;
      } else {
        const [k, v] = tokens(body);
        if (k !== undefined) current[k] = v ?? '';
        section = undefined;
      }
      return;
    }
    if (section === undefined) throw new Error(`line ${i + 1} is indented under no section`);
    const [k, v] = tokens(body);
    if (k !== undefined) section[k] = v ?? '';
  });
  return entries;
}

/** Yarn 2+ (berry) writes YAML: keys are comma-joined descriptors such as "ms@npm:^2.1.1". */
export function parseYarnBerry(text: string): Map<string, Json> {
  const yaml = require('yaml') as typeof import('yaml');
  const doc: unknown = yaml.parse(text);
  if (!isObject(doc)) throw new Error('it is not a YAML map');
  const entries = new Map<string, Json>();
  for (const [key, value] of Object.entries(doc)) {
    if (key === '__metadata' || !isObject(value)) continue;
    for (const d of key.split(/,\s*/)) entries.set(d.trim(), value);
  }
  return entries;
}

export const isBerryLock = (text: string): boolean => /^__metadata:/m.test(text);

/**
 * The dependency closure of each workspace from a yarn.lock, classic or berry. A dependency
 * on a sibling workspace (not in a classic lockfile; "workspace:" in berry) continues from that
 * workspace's package.json.
 */
export function yarnLockTrees(text: string, workspaces: readonly Workspace[]): Map<string, DependencyTree> {
  const berry = isBerryLock(text);
  const entries = berry ? parseYarnBerry(text) : parseYarnClassic(text);
  const byName = new Map(workspaces.map((w) => [w.name, w]));
  const lookup = (name: string, range: string): Json | undefined => entries.get(`${name}@${range}`) ?? (berry ? entries.get(`${name}@npm:${range}`) : undefined);
  const out = new Map<string, DependencyTree>();
  for (const ws of workspaces) {
    const tree = emptyTree();
    const seen = new Set<string>();
    const visitWorkspace = (w: Workspace): void => {
      if (seen.has(`workspace:${w.rel}`)) return;
      seen.add(`workspace:${w.rel}`);
      for (const [name, range] of depEntries(w.manifest, OWN_DEPS)) visit(name, range);
    };
    const visit = (name: string, range: string): void => {
      const sibling = byName.get(name);
      const e = lookup(name, range);
      if (sibling !== undefined && (e === undefined || range.startsWith('workspace:'))) {
        visitWorkspace(sibling);
        return;
      }
      if (e === undefined || seen.has(`${name}@${range}`)) return;
      seen.add(`${name}@${range}`);
      if (typeof e.version === 'string') addVersion(tree, name, e.version);
      for (const [dep, r] of depEntries(e, LOCKED_DEPS)) visit(dep, r);
    };
    for (const [name] of depEntries(ws.manifest, OWN_DEPS)) tree.direct.add(name);
    visitWorkspace(ws);
    out.set(ws.rel, tree);
  }
  return out;
}
