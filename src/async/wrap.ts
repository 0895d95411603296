import type { Recorder, Unit } from './recorder';

type Fn = (...args: unknown[]) => unknown;

/** Functions we made, so that a module seen twice (required, then imported) is not wrapped twice. */
const WRAPPERS = new WeakSet<object>();

export function isWrapper(fn: unknown): boolean {
  return typeof fn === 'function' && WRAPPERS.has(fn);
}

/** A class cannot be called without new; tracing its construction is not what the list asks for. */
export function isClass(fn: Fn): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

/**
 * A function that behaves as `fn` (same this, arguments, return value or thrown error, same
 * `length`, `name`, prototype chain and own properties), each call of which is one unit of work.
 * A function without its own `prototype` (async, arrow, method) gets a wrapper without one, so
 * that `new` fails as it did; a constructible one is still constructed, untraced, under `new`.
 */
export function wrapFunction(fn: Fn, unit: Unit, rec: Recorder): Fn {
  if (WRAPPERS.has(fn)) return fn;
  const constructible = Object.prototype.hasOwnProperty.call(fn, 'prototype');
  const wrapped: Fn = constructible
    ? function (this: unknown): unknown {
        if (new.target !== undefined) return Reflect.construct(fn, arguments, new.target) as unknown;
        return rec.invoke(unit, fn, this, arguments);
      }
    : {
        // A method: no prototype, not constructible.
        traced(this: unknown): unknown {
          return rec.invoke(unit, fn, this, arguments);
        },
      }.traced;
  mirror(wrapped, fn);
  WRAPPERS.add(wrapped);
  return wrapped;
}

/** Gives `wrapped` the observable shape of `fn`. */
function mirror(wrapped: Fn, fn: Fn): void {
  Object.setPrototypeOf(wrapped, Object.getPrototypeOf(fn) as object | null);
  for (const key of Reflect.ownKeys(fn)) {
    if (key === 'arguments' || key === 'caller') continue;
    const d = Object.getOwnPropertyDescriptor(fn, key);
    if (d === undefined) continue;
    try {
      Object.defineProperty(wrapped, key, d);
    } catch {
      // a non-configurable own property of ours (a constructible wrapper's prototype) keeps its value
      if (key === 'prototype') (wrapped as { prototype?: unknown }).prototype = d.value;
    }
  }
  // Dependency injectors read parameter names from fn.toString().
  if (!Object.prototype.hasOwnProperty.call(fn, 'toString')) {
    Object.defineProperty(wrapped, 'toString', { value: () => Function.prototype.toString.call(fn), writable: true, configurable: true, enumerable: false });
  }
}
