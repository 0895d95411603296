/**
 * When the register hook's multiprocess hub must exist: before the app starts its first worker
 * thread or child process, which it cannot do without loading one of these builtins. The hub sets
 * the environment a worker (worker_threads' environment data) or a child (PARENT_MARKER) is
 * started with; one started before it would export on its own instead of through this process.
 */
const BUILTINS = ['worker_threads', 'child_process', 'cluster'];

/** The specifiers, by require() or import, that load one of them. */
export const NEEDED_BY: ReadonlySet<string> = new Set(BUILTINS.flatMap((b) => [b, `node:${b}`]));

/** Files of the packages the register hook loads itself, none of which starts a thread or a process. */
export const OUR_DEPENDENCY = /[\\/]node_modules[\\/](?:import-in-the-middle|require-in-the-middle|@opentelemetry)[\\/]/;

/**
 * Whether one of them is loaded already (by another preload, or by Node itself: a cluster worker
 * loads cluster, a forked child child_process). process.moduleLoadList is undocumented: without
 * it, the answer is yes, and the hub is made at once as before.
 */
export function neededNow(): boolean {
  const list = (process as { moduleLoadList?: readonly string[] }).moduleLoadList;
  return !Array.isArray(list) || BUILTINS.some((b) => list.includes(`NativeModule ${b}`));
}

/**
 * process.getBuiltinModule() loads a builtin without passing through the module hooks: until
 * `run` has run, a call for one of them runs it first. The wrapper stays if someone wrapped it
 * since (their wrapper calls ours); it is a plain pass-through then.
 */
export function onGetBuiltinModule(run: () => void): () => void {
  const p = process as { getBuiltinModule?: (id: string) => unknown };
  const original = p.getBuiltinModule;
  if (typeof original !== 'function') return () => undefined;
  let done = false;
  const wrapper = function getBuiltinModule(this: unknown, id: string): unknown {
    if (!done && typeof id === 'string' && NEEDED_BY.has(id)) {
      done = true;
      try {
        run();
      } catch {
        // run() never throws (Multiprocess.start); the app's call goes on regardless
      }
    }
    return original.call(this, id);
  };
  p.getBuiltinModule = wrapper;
  return () => {
    done = true;
    if (p.getBuiltinModule === wrapper) p.getBuiltinModule = original;
  };
}
