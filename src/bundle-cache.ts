import { lstatSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as vm from 'node:vm';
import type { Entry, Handle } from './start';

/**
 * What the register entry files call (built by scripts/bundle.mjs as dist/register-loader.js):
 * loads the bundle, dist/register.js, with a V8 code cache of its own, then starts it.
 *
 * Node's compile cache is turned on inside start(), once the process is known to be
 * instrumented (a package manager's modules are not ours to cache), so it never covers the
 * bundle itself: reading, compiling and evaluating it took 11 to 13 ms of every start, 4.5 to
 * 5 ms with a code cache (docs/performance.md, Startup). This cache holds the bundle's alone, in
 * the same directory of the user's own as Node's (src/compile-cache.ts; only the default one, and
 * only once an instrumented start has made it), written after an instrumented start so that the
 * functions start() compiled are in it. Anything unexpected means a plain require(), as before.
 */
declare const BUNDLE_HASH: string | undefined;

type Bundle = typeof import('./start');
type Wrapper = (exports: unknown, require: NodeJS.Require, module: nodeModule.Module, filename: string, dirname: string) => void;

const BUNDLE = join(__dirname, 'register.js');
// CommonJS's own module wrapper, written out (module.wrap() is not documented).
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAPPER_TAIL = '\n});';

/** The cache file for this bundle, Node and platform, or undefined when no cache is to be used. */
export function cacheFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  // A chosen directory, `none`, or Node's own settings: the compile cache of start() alone, as before.
  for (const k of ['OTEL_NODE_COMPILE_CACHE', 'NODE_COMPILE_CACHE', 'NODE_DISABLE_COMPILE_CACHE']) if ((env[k] ?? '').trim() !== '') return undefined;
  if (typeof BUNDLE_HASH !== 'string' || vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER === undefined) return undefined;
  const uid = process.getuid?.();
  const dir = join(tmpdir(), `otel-autoinstrument-compile-cache-${uid ?? 'user'}`);
  try {
    // The same rule as src/compile-cache.ts: a real directory of this user's that no one else can
    // write (a cache another user could write could hand us their code). Not made here.
    const st = lstatSync(dir);
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) return undefined;
  } catch {
    return undefined;
  }
  return join(dir, `bundle-${process.versions.node}-${process.arch}-${BUNDLE_HASH}.v8`);
}

interface Loaded {
  readonly bundle: Bundle;
  readonly status: string;
  /** Set when the cache is to be (re)written after an instrumented start. */
  readonly script?: vm.Script;
}

function load(file: string | undefined): Loaded {
  if (file === undefined) return { bundle: require(BUNDLE) as Bundle, status: 'not used' };
  let script: vm.Script;
  let data: Buffer | undefined;
  try {
    try {
      data = readFileSync(file);
    } catch {
      // none yet
    }
    script = new vm.Script(`${WRAPPER_HEAD}${readFileSync(BUNDLE, 'utf8')}${WRAPPER_TAIL}`, { filename: BUNDLE, cachedData: data, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  } catch (err) {
    return { bundle: require(BUNDLE) as Bundle, status: `not used (${err instanceof Error ? err.message : String(err)})` };
  }
  // What require() would do: one module in require.cache, run with its own require and paths.
  const m = new nodeModule.Module(BUNDLE);
  m.filename = BUNDLE;
  const cache = nodeModule.createRequire(BUNDLE).cache;
  cache[BUNDLE] = m;
  try {
    (script.runInThisContext() as Wrapper).call(m.exports, m.exports, nodeModule.createRequire(BUNDLE), m, BUNDLE, dirname(BUNDLE));
  } catch (err) {
    delete cache[BUNDLE];
    throw err;
  }
  m.loaded = true;
  const status = data === undefined ? 'none yet' : script.cachedDataRejected === true ? 'rejected' : 'accepted';
  return { bundle: m.exports as Bundle, status: `${status} (${file})`, ...(status === 'accepted' ? {} : { script }) };
}

/** Writes the cache for the next start; never throws, never fails the start. */
function write(file: string, script: vm.Script): void {
  const tmp = `${file}.${process.pid}`;
  try {
    writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    rmSync(tmp, { force: true });
  }
}

export function start(entry: Entry): Handle {
  const file = cacheFile();
  const loaded = load(file);
  const handle = loaded.bundle.start({ entry, bundleCache: loaded.status });
  // Only an instrumented process whose settings keep the default cache directory writes it.
  try {
    if (file !== undefined && loaded.script !== undefined && handle.started && handle.config?.values.OTEL_NODE_COMPILE_CACHE === undefined) write(file, loaded.script);
  } catch {
    // a cache not written: the next start compiles as this one did
  }
  return handle;
}
