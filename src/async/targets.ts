import { existsSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

const VAR = 'OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE';
const IDENT = /^[\p{L}\p{Nl}$_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}$\u200c\u200d]*$/u;
const PACKAGE = /^(?:node:)?(?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(?:\/[\w.-]+)*$/i;
/** Tried in this order after the path as written, as Node tries them for require(). */
const EXTENSIONS = ['.js', '.cjs', '.mjs', '.ts', '.cts', '.mts', '/index.js', '/index.cjs', '/index.mjs'];

/** What OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE asks for, resolved at startup. */
export interface Targets {
  /** Real absolute path of an app file -> export names to trace. */
  readonly files: Map<string, Set<string>>;
  /** Package (or package subpath, or builtin) as the app names it -> export names. */
  readonly packages: Map<string, Set<string>>;
  /** Unqualified names: that export of any of the app's own modules (not under node_modules). */
  readonly anywhere: Set<string>;
  readonly warnings: string[];
}

function findFile(p: string): string | undefined {
  for (const candidate of [p, ...EXTENSIONS.map((e) => p + e)]) {
    try {
      if (existsSync(candidate) && statSync(candidate).isFile()) return realpathSync(candidate);
    } catch {
      // unreadable: try the next
    }
  }
  return undefined;
}

function add(map: Map<string, Set<string>>, key: string, name: string): void {
  const set = map.get(key) ?? new Set<string>();
  set.add(name);
  map.set(key, set);
}

/**
 * Parses the list. `./a/b.js:fn` and `/abs/b.js:fn` name a file (relative to `cwd`, the working
 * directory, as every other path the user types on a command line is); `pkg:fn` and `pkg/sub:fn` a
 * module the app loads by that name; `fn` alone, that export of any app file outside node_modules.
 * `default` names the default export (CommonJS: module.exports itself when it is a function).
 * Each entry that cannot be used is one warning naming it, and is left out.
 */
export function parseTargets(list: readonly string[], cwd: string): Targets {
  const t: Targets = { files: new Map(), packages: new Map(), anywhere: new Set(), warnings: [] };
  for (const entry of list) {
    const at = entry.lastIndexOf(':');
    const where = at > 0 ? entry.slice(0, at) : '';
    const name = at > 0 ? entry.slice(at + 1) : entry;
    const skip = (why: string): void => void t.warnings.push(`${VAR}: "${entry}" ${why}; left out`);
    if (!IDENT.test(name) || (where === '' && name === 'default')) {
      skip(where === '' && name === 'default' ? 'needs a module: "default" alone names nothing' : 'does not end in a function name');
      continue;
    }
    if (where === '') {
      t.anywhere.add(name);
    } else if (where.startsWith('.') || isAbsolute(where)) {
      const file = findFile(resolve(cwd, where));
      if (file === undefined) skip(`names no file (looked for ${resolve(cwd, where)} from the working directory ${cwd})`);
      else add(t.files, file, name);
    } else if (PACKAGE.test(where)) {
      add(t.packages, where.startsWith('node:') ? where.slice(5) : where, name);
    } else {
      skip('names neither a path (./file.js) nor a package');
    }
  }
  return t;
}

export function isEmpty(t: Targets): boolean {
  return t.files.size === 0 && t.packages.size === 0 && t.anywhere.size === 0;
}
