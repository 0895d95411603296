import { readFileSync, realpathSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { basename, dirname, extname, isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { errorText, type Logger } from '../log';
import type { Targets } from './targets';

type Fn = (...args: unknown[]) => unknown;
type Exports = Record<string | symbol, unknown>;
/** Wraps fn as the unit `name`; undefined when fn cannot be traced (a class, say). */
export type Wrap = (fn: Fn, name: string) => Fn | undefined;

const VAR = 'OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE';
const IN_NODE_MODULES = /[\\/]node_modules[\\/]/;

export interface ModuleHooks {
  /** For import-in-the-middle's include list: the files (as URLs) and packages named in the variable. */
  readonly esmInclude: string[];
  /** With unqualified names: which other ES modules (the app's own that export such a name) to wrap. */
  readonly esmPredicate?: (url: string) => boolean;
}

const escape = (s: string): string => s.replace(/[$]/g, '\\$');

/**
 * Replaces one export. CommonJS: a writable or configurable property (a getter that cannot be
 * redefined, as TypeScript emits for re-exports, is left alone). ES modules: the namespace
 * import-in-the-middle hands us has a setter per export that rebinds it for every importer.
 */
function setExport(obj: Exports, key: string, value: Fn, esm: boolean): boolean {
  try {
    if (esm) {
      obj[key] = value;
      return obj[key] === value;
    }
    const d = Object.getOwnPropertyDescriptor(obj, key);
    if (d === undefined) return false;
    if ('value' in d && d.writable === true) obj[key] = value;
    else if (d.configurable === true) Object.defineProperty(obj, key, { value, writable: true, enumerable: d.enumerable ?? true, configurable: true });
    else return false;
    return obj[key] === value;
  } catch {
    return false;
  }
}

/**
 * Wraps, in a module's exports, the names the variable asks for. `strict` names were asked for
 * this module: a missing one is a warning. Loose (unqualified) names are looked for quietly,
 * also as the name of a default export. Returns the exports (CommonJS: a new value when
 * module.exports itself is the traced function).
 */
export function patchExports(exports: unknown, strict: ReadonlySet<string>, loose: ReadonlySet<string>, where: string, esm: boolean, wrap: Wrap, log: Logger): unknown {
  if ((typeof exports !== 'object' && typeof exports !== 'function') || exports === null) {
    if (strict.size > 0) log.warn(`${VAR}: ${where} exports no functions; nothing traced there`);
    return exports;
  }
  let out: unknown = exports;
  const obj = exports as Exports;
  const one = (name: string, mustExist: boolean): void => {
    if (name === 'default' && !esm && typeof obj.default !== 'function') {
      // CommonJS module.exports = function ...: the module itself is the default export.
      const w = typeof exports === 'function' ? wrap(exports as Fn, (exports as Fn).name || basename(where)) : undefined;
      if (w !== undefined) out = w;
      else if (mustExist) log.warn(`${VAR}: ${where} has no default export that is a function; nothing traced for "default"`);
      return;
    }
    const fn = obj[name];
    if (typeof fn !== 'function') {
      if (mustExist) log.warn(`${VAR}: ${where} has no exported function "${name}"; nothing traced for it`);
      return;
    }
    const w = wrap(fn as Fn, name === 'default' ? (fn as Fn).name || 'default' : name);
    if (w === undefined || w === fn) return;
    if (!setExport(obj, name, w, esm)) log.warn(`${VAR}: ${where}: export "${name}" is read-only (a getter); it is not traced`);
  };
  for (const name of strict) one(name, true);
  for (const name of loose) {
    if (strict.has(name)) continue;
    one(name, false);
    // export default async function name() / module.exports = async function name()
    const def = esm || typeof obj.default === 'function' ? obj.default : exports;
    if (typeof def === 'function' && (def as Fn).name === name) one('default', false);
  }
  return out;
}

/** Does this app file's source mention one of the names where `pattern` looks? Read once per file. */
function sourceCheck(pattern: RegExp): (path: string) => boolean {
  const seen = new Map<string, boolean>();
  return (path) => {
    let hit = seen.get(path);
    if (hit === undefined) {
      try {
        hit = pattern.test(readFileSync(path, 'utf8'));
      } catch {
        hit = false;
      }
      seen.set(path, hit);
    }
    return hit;
  };
}

/**
 * Hooks the modules the variable names, for require() (a require-in-the-middle hook over exactly
 * those files and packages) and for import (import-in-the-middle's Hook over the same names; the
 * caller puts `esmInclude` into the ESM hook's include list). Unqualified names add the app's own
 * files that mention them, found as they are resolved.
 */
export function hookModules(targets: Targets, resolveFrom: string, wrap: Wrap, log: Logger): ModuleHooks {
  const none: ReadonlySet<string> = new Set();
  const anywhere = targets.anywhere;
  const loose = new Set<string>();
  // require-in-the-middle reports a whitelisted file as (basename without extension, directory).
  const byStem = new Map<string, string[]>();
  const addStem = (file: string): void => {
    const key = join(dirname(file), basename(file, extname(file)));
    byStem.set(key, [...(byStem.get(key) ?? []), file]);
  };
  for (const file of targets.files.keys()) addStem(file);
  const whitelist = [...targets.files.keys(), ...targets.packages.keys()];

  const onRequire = <T>(exports: T, name: string, basedir?: string): T => {
    try {
      if (basedir === undefined || targets.packages.has(name)) {
        const names = targets.packages.get(name);
        return names ? (patchExports(exports, names, none, name, false, wrap, log) as T) : exports;
      }
      let out: unknown = exports;
      for (const file of byStem.get(join(basedir, name)) ?? []) {
        out = patchExports(out, targets.files.get(file) ?? none, loose.has(file) ? anywhere : none, file, false, wrap, log);
      }
      return out as T;
    } catch (err) {
      log.warn(`async tracing: patching ${name} failed (${errorText(err)}); it runs untraced`);
      return exports;
    }
  };
  const { Hook } = require('require-in-the-middle') as typeof import('require-in-the-middle');
  // The whitelist array is read at each require (require-in-the-middle 8 keeps the reference);
  // unqualified names append files to it from the resolve hook below. Test: async e2e, unqualified CJS.
  new Hook(whitelist, { internals: false }, onRequire);

  const iitm = nodeModule.createRequire(resolveFrom)('import-in-the-middle') as typeof import('import-in-the-middle');
  if (whitelist.length > 0) {
    new iitm.Hook(whitelist, (ns, name) => {
      try {
        const names = targets.files.get(name) ?? targets.packages.get(name);
        if (names) patchExports(ns, names, loose.has(name) ? anywhere : none, name, true, wrap, log);
      } catch (err) {
        log.warn(`async tracing: patching ${name} failed (${errorText(err)}); it runs untraced`);
      }
    });
  }
  const esmInclude = [...[...targets.files.keys()].map((f) => pathToFileURL(f).href), ...targets.packages.keys()];
  if (anywhere.size === 0) return { esmInclude };

  const alt = [...anywhere].map(escape).join('|');
  const mentions = sourceCheck(new RegExp(`(?:^|[^\\w$.])(?:${alt})(?![\\w$])`));
  const exportsName = sourceCheck(
    new RegExp(`export\\s+(?:default\\s+)?(?:async\\s+)?function\\s*\\*?\\s*(?:${alt})(?![\\w$])|export\\s+(?:const|let|var|class)\\s+(?:${alt})(?![\\w$])|export\\s*\\{[^}]*(?:^|[^\\w$])(?:${alt})(?![\\w$])[^}]*\\}`),
  );
  const appFile = (url: string): string | undefined => {
    if (!url.startsWith('file:')) return undefined;
    const path = fileURLToPath(url);
    return IN_NODE_MODULES.test(path) ? undefined : path;
  };
  nodeModule.registerHooks({
    resolve(specifier, context, nextResolve) {
      const result = nextResolve(specifier, context);
      try {
        const path = context.conditions.includes('require') ? appFile(result.url) : undefined;
        if (path !== undefined && !loose.has(path) && mentions(path)) {
          loose.add(path);
          if (!targets.files.has(path)) {
            addStem(path);
            whitelist.push(path);
          }
        }
      } catch (err) {
        log.debug(`async tracing: resolve ${specifier}: ${errorText(err)}`);
      }
      return result;
    },
  });
  new iitm.Hook((ns, name, baseDir) => {
    if (baseDir !== undefined || !isAbsolute(name) || IN_NODE_MODULES.test(name)) return;
    try {
      patchExports(ns, none, anywhere, name, true, wrap, log);
    } catch (err) {
      log.warn(`async tracing: patching ${name} failed (${errorText(err)}); it runs untraced`);
    }
  });
  return {
    esmInclude,
    esmPredicate: (url) => {
      try {
        const path = appFile(url);
        return path !== undefined && exportsName(realpathSync(path));
      } catch {
        return false;
      }
    },
  };
}
