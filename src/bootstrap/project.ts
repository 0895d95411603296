import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { BootstrapError } from './errors';
import { isObject, type Json } from './tree';

/** The root project or one of its workspaces. */
export interface Workspace {
  /** The package name, or the directory when it has none. */
  readonly name: string;
  readonly dir: string;
  /** Relative to the project root, with "/" separators; "." for the root itself. */
  readonly rel: string;
  readonly manifest: Json;
}

export interface Project {
  readonly root: string;
  readonly manifest: Json;
  /** The root first, then each workspace in path order. */
  readonly workspaces: readonly Workspace[];
  /** The workspace the command was run in, when that is not the root. */
  readonly focus: Workspace | undefined;
}

function readManifest(path: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const why = err instanceof SyntaxError ? 'it is not valid JSON' : (err as NodeJS.ErrnoException).code ?? String(err);
    throw new BootstrapError(`${path} cannot be read: ${why}`);
  }
  if (!isObject(v)) throw new BootstrapError(`${path} is not a JSON object`);
  return v;
}

/** Workspace globs of npm and yarn (package.json "workspaces") or pnpm (pnpm-workspace.yaml). */
function workspacePatterns(root: string, manifest: Json): string[] {
  const pnpmFile = join(root, 'pnpm-workspace.yaml');
  if (existsSync(pnpmFile)) {
    const yaml = require('yaml') as typeof import('yaml');
    let doc: unknown;
    try {
      doc = yaml.parse(readFileSync(pnpmFile, 'utf8'));
    } catch (err) {
      throw new BootstrapError(`${pnpmFile} cannot be read: ${(err as Error).message.split('\n')[0]}`);
    }
    const list = isObject(doc) ? doc.packages : undefined;
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
  }
  const ws = manifest.workspaces;
  const list = Array.isArray(ws) ? ws : isObject(ws) && Array.isArray(ws.packages) ? ws.packages : [];
  return list.filter((x): x is string => typeof x === 'string');
}

const skipDir = (name: string): boolean => name === 'node_modules' || name.startsWith('.');

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && !skipDir(e.name)).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** Expands "packages/*", "apps/**" and plain paths to directories that hold a package.json. */
export function expandPatterns(root: string, patterns: readonly string[]): string[] {
  const found = new Set<string>();
  const excluded = new Set<string>();
  const walk = (dir: string, parts: readonly string[], into: Set<string>, depth = 0): void => {
    if (parts.length === 0) {
      if (existsSync(join(dir, 'package.json'))) into.add(dir);
      return;
    }
    const [head, ...rest] = parts as [string, ...string[]];
    if (head === '**') {
      walk(dir, rest, into, depth);
      if (depth < 8) for (const d of subdirs(dir)) walk(join(dir, d), parts, into, depth + 1);
    } else if (head.includes('*')) {
      const re = new RegExp(`^${head.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
      for (const d of subdirs(dir)) if (re.test(d)) walk(join(dir, d), rest, into, depth);
    } else if (head !== '.' && head !== '') walk(join(dir, head), rest, into, depth);
    else walk(dir, rest, into, depth);
  };
  for (const p of patterns) {
    const negative = p.startsWith('!');
    const parts = (negative ? p.slice(1) : p).replace(/\/+$/, '').split('/');
    walk(root, parts, negative ? excluded : found);
  }
  return [...found].filter((d) => !excluded.has(d) && d !== root).sort();
}

const toRel = (root: string, dir: string): string => relative(root, dir).split(sep).join('/') || '.';

function workspaceOf(root: string, dir: string, manifest: Json): Workspace {
  const rel = toRel(root, dir);
  return { name: typeof manifest.name === 'string' && manifest.name !== '' ? manifest.name : rel, dir, rel, manifest };
}

/**
 * The project around `cwd`: the nearest package.json, or, when that one is a workspace of a
 * monorepo above it, the monorepo's root with `focus` set to it.
 */
export function readProject(cwd: string): Project {
  let nearest: string | undefined;
  for (let dir = cwd; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      nearest = dir;
      break;
    }
    if (dirname(dir) === dir) break;
  }
  if (nearest === undefined) throw new BootstrapError(`no package.json in ${cwd} or any directory above it; run otel-bootstrap in your app's directory (or pass --cwd)`);
  let root = nearest;
  let manifest = readManifest(join(nearest, 'package.json'));
  let dirs = expandPatterns(root, workspacePatterns(root, manifest));
  let focus: string | undefined;
  if (dirs.length === 0) {
    // Maybe a workspace of a monorepo further up.
    for (let dir = dirname(nearest); dirname(dir) !== dir; dir = dirname(dir)) {
      if (!existsSync(join(dir, 'package.json'))) continue;
      const m = readManifest(join(dir, 'package.json'));
      const ds = expandPatterns(dir, workspacePatterns(dir, m));
      if (ds.includes(nearest)) {
        [root, manifest, dirs, focus] = [dir, m, ds, nearest];
        break;
      }
    }
  }
  const workspaces = [workspaceOf(root, root, manifest), ...dirs.map((d) => workspaceOf(root, d, readManifest(join(d, 'package.json'))))];
  return { root, manifest, workspaces, focus: workspaces.find((w) => w.dir === focus) };
}
