import { join } from 'node:path';
import { cachePath, loadCached, privateCacheDir, writeCache } from './script-cache';
import type { Entry, Handle } from './start';

/**
 * What the register entry files call (built by scripts/bundle.mjs as dist/register-loader.js):
 * loads the bundle, dist/register.js, with a V8 code cache of its own, then starts it.
 *
 * Node's compile cache is turned on inside start(), once the process is known to be
 * instrumented (a package manager's modules are not ours to cache), so it never covers the
 * bundle itself: reading, compiling and evaluating it took 11 to 13 ms of every start, 4.5 to
 * 5 ms with a code cache (docs/performance.md, Startup). This cache holds the bundle's alone, in
 * the same directory of the user's own as Node's (src/script-cache.ts; only the default one, and
 * only once an instrumented start has made it), written after an instrumented start so that the
 * functions start() compiled are in it. Anything unexpected means a plain require(), as before.
 */
declare const BUNDLE_HASH: string | undefined;

type Bundle = typeof import('./start');

const BUNDLE = join(__dirname, 'register.js');

/** The cache file for this bundle, Node and platform, or undefined when no cache is to be used. */
export function cacheFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (typeof BUNDLE_HASH !== 'string') return undefined;
  const dir = privateCacheDir(env);
  return dir === undefined ? undefined : cachePath(dir, 'bundle', BUNDLE_HASH);
}

export function start(entry: Entry): Handle {
  const file = cacheFile();
  const loaded = loadCached(BUNDLE, file);
  const handle = (loaded.exports as Bundle).start({ entry, bundleCache: loaded.status });
  // Only an instrumented process whose settings keep the default cache directory writes it.
  try {
    if (file !== undefined && loaded.script !== undefined && handle.started && handle.config?.values.OTEL_NODE_COMPILE_CACHE === undefined) writeCache(file, loaded.script);
  } catch {
    // a cache not written: the next start compiles as this one did
  }
  return handle;
}
