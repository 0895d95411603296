/**
 * Whether this is the main thread, without loading node:worker_threads there: only that module
 * says so, and loading it (with the streams it needs) is about 1.7 ms of every preloaded start,
 * `node -e 0` too. A worker thread's bootstrap always loads it (checked on Node 22.23 and 24.21:
 * `NativeModule worker_threads` is in a worker's process.moduleLoadList before any user code),
 * so where the list is readable and lacks it, no worker can be running this code. Otherwise
 * (it is loaded, or the undocumented list is gone) the module answers, as before.
 * test/unit/thread.test.mjs fails if a worker ever looks like the main thread here.
 */
let main: boolean | undefined;

export function isMainThread(): boolean {
  if (main !== undefined) return main;
  const list = (process as { moduleLoadList?: readonly string[] }).moduleLoadList;
  main = Array.isArray(list) && !list.includes('NativeModule worker_threads') ? true : (require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread;
  return main;
}
