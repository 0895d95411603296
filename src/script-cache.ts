import { lstatSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as vm from 'node:vm';

/**
 * A V8 code cache of our own for one of our prebuilt files (dist/register.js, dist/vendor.js),
 * written after the process has run its functions, so that it holds them too. Node's compile
 * cache holds only what V8 compiles eagerly: a bundle's modules, each a function run on its
 * first require(), would be compiled again on every start. Used by src/bundle-cache.ts and
 * src/hooks/vendor.ts.
 */

// CommonJS's own module wrapper, written out (module.wrap() is not documented).
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAPPER_TAIL = '\n});';
type Wrapper = (exports: unknown, require: NodeJS.Require, module: nodeModule.Module, filename: string, dirname: string) => void;

/**
 * The default cache directory when it may be used: the same rule as src/compile-cache.ts (a real
 * directory of this user's that no one else can write: a cache another user could write could
 * hand us their code). Not made here. Undefined when the user chose a directory, `none`, or
 * Node's own settings: then Node's compile cache alone, as they said.
 */
export function privateCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const k of ['OTEL_NODE_COMPILE_CACHE', 'NODE_COMPILE_CACHE', 'NODE_DISABLE_COMPILE_CACHE']) if ((env[k] ?? '').trim() !== '') return undefined;
  if (vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER === undefined) return undefined;
  const uid = process.getuid?.();
  const dir = join(tmpdir(), `otel-autoinstrument-compile-cache-${uid ?? 'user'}`);
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) return undefined;
  } catch {
    return undefined;
  }
  return dir;
}

/** The cache file of one build (`hash`: its content's, since V8 itself checks only the source's length). */
export function cachePath(dir: string, name: string, hash: string): string {
  return join(dir, `${name}-${process.versions.node}-${process.arch}-${hash}.v8`);
}

export interface Loaded {
  readonly exports: unknown;
  readonly status: string;
  /** Set when the cache is to be (re)written. */
  readonly script?: vm.Script;
}

/** Loads `file` as require() would, with the code cache at `cache`; a plain require() when anything is unexpected. */
export function loadCached(file: string, cache: string | undefined): Loaded {
  const plain = nodeModule.createRequire(file);
  if (cache === undefined) return { exports: plain(file), status: 'not used' };
  let script: vm.Script;
  let data: Buffer | undefined;
  try {
    try {
      data = readFileSync(cache);
    } catch {
      // none yet
    }
    script = new vm.Script(`${WRAPPER_HEAD}${readFileSync(file, 'utf8')}${WRAPPER_TAIL}`, { filename: file, cachedData: data, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  } catch (err) {
    return { exports: plain(file), status: `not used (${err instanceof Error ? err.message : String(err)})` };
  }
  // What require() would do: one module in require.cache, run with its own require and paths.
  const m = new nodeModule.Module(file);
  m.filename = file;
  const cacheMap = plain.cache;
  cacheMap[file] = m;
  try {
    (script.runInThisContext() as Wrapper).call(m.exports, m.exports, nodeModule.createRequire(file), m, file, dirname(file));
  } catch (err) {
    delete cacheMap[file];
    throw err;
  }
  m.loaded = true;
  const status = data === undefined ? 'none yet' : script.cachedDataRejected === true ? 'rejected' : 'accepted';
  return { exports: m.exports, status: `${status} (${cache})`, ...(status === 'accepted' ? {} : { script }) };
}

/** Writes the cache for the next start; never throws. */
export function writeCache(cache: string, script: vm.Script): void {
  const tmp = `${cache}.${process.pid}`;
  try {
    writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
    renameSync(tmp, cache);
  } catch {
    rmSync(tmp, { force: true });
  }
}
