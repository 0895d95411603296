/** The one start() per process; its own file so the Prometheus drop-in can ask about it cheaply. */
const KEY = Symbol.for('otel-autoinstrument');

interface Slot {
  [KEY]?: unknown;
}

/** start() has run in this thread (whatever it decided): it has said what there was to say about the environment. */
export function startClaimed(): boolean {
  return (globalThis as Slot)[KEY] !== undefined;
}

/** One start per process, even across two copies of this package (--require and --import together). */
export function claimSingleton<T>(make: () => T): { first: boolean; value: T } {
  const g = globalThis as Slot;
  if (g[KEY] !== undefined) return { first: false, value: g[KEY] as T };
  const value = make();
  Object.defineProperty(g, KEY, { value, enumerable: false, configurable: false, writable: false });
  return { first: true, value };
}
