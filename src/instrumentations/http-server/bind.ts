// Binding the request and response emitters to the span's context, as the AsyncLocalStorage
// context manager's bind(ctx, emitter) does (context-async-hooks 3.0.0 _bindEventEmitter: every
// listener added later runs in ctx; removeListener/off find the wrapped
// listener), but paid once instead of per request: the listener methods of IncomingMessage and
// ServerResponse are replaced once, on their prototypes, by functions that read the context from
// a symbol on the instance. Per request the cost is one property store, and per listener added
// one closure (no map: removal finds the bound listener among the emitter's own); emitters
// without the symbol (client responses, requests of ignored servers) go straight to the original
// method.
// The default binding (bindEmitters: 'prototype', src/hooks/http-server.ts); measurements in
// docs/notes/http-instrumentation-cost.md.
import type * as Api from '@opentelemetry/api';

const kCtx = Symbol('otel-autoinstrument bound context');
/** On a bound listener: the listener it runs. */
const kListener = Symbol('otel-autoinstrument bound listener');
const ADD = ['addListener', 'on', 'once', 'prependListener', 'prependOnceListener'] as const;
const REMOVE = ['removeListener', 'off'] as const;

type Listener = ((...args: unknown[]) => unknown) & { [kListener]?: Listener; listener?: Listener };
type Method = (this: Bindable, event: string | symbol, listener?: Listener) => unknown;
interface Bindable {
  [kCtx]?: Api.Context;
  rawListeners(event: string | symbol): Listener[];
}

/**
 * The listener bound to ctx: context.bind's behaviour (the listener runs in ctx, with the
 * emitter's `this` and arguments) at the cost of one closure; context.bind's own wrapper makes a
 * closure per call as well and redefines `length`, which listeners are not called by.
 */
function bindListener(api: typeof Api, ctx: Api.Context, listener: Listener): Listener {
  const bound: Listener = function (this: unknown) {
    // eslint-disable-next-line prefer-rest-params
    return api.context.with(ctx, Reflect.apply, undefined, listener, this, arguments);
  };
  bound[kListener] = listener;
  return bound;
}

/**
 * The registered function that runs `listener` for a bound emitter, the most recently added one
 * first (context-async-hooks keeps the latest wrapper per listener): our bound listener, or the
 * once-wrapper Node put around it (whose `listener` is ours). Scanned only on removal.
 */
function registered(emitter: Bindable, event: string | symbol, listener: Listener): Listener | undefined {
  const all = emitter.rawListeners(event);
  for (let i = all.length - 1; i >= 0; i--) {
    const l = all[i]!;
    if (l[kListener] === listener || l.listener?.[kListener] === listener) return l;
  }
  return undefined;
}

/** Patches the prototypes once; returns the per-request binder. */
export function prototypeBinder(api: typeof Api, prototypes: object[]): (ctx: Api.Context, emitter: object) => void {
  // While `once` adds its own wrapper through `on`, that inner call must not wrap again
  // (the same guard as context-async-hooks' `_wrapped`).
  let adding = false;
  const add = (original: Method): Method =>
    function (this: Bindable, event, listener) {
      const ctx = this[kCtx];
      if (ctx === undefined || adding || typeof listener !== 'function') return original.call(this, event, listener);
      adding = true;
      try {
        return original.call(this, event, bindListener(api, ctx, listener));
      } finally {
        adding = false;
      }
    };
  const remove = (original: Method): Method =>
    function (this: Bindable, event, listener) {
      // Not for our own bound listeners nor Node's once-wrappers (removing themselves as they fire).
      const bound = this[kCtx] !== undefined && typeof listener === 'function' && listener[kListener] === undefined && listener.listener === undefined ? registered(this, event, listener) : undefined;
      return original.call(this, event, bound ?? listener);
    };
  for (const proto of prototypes as Record<string, Method>[]) {
    for (const m of ADD) proto[m] = add(proto[m] as Method);
    for (const m of REMOVE) proto[m] = remove(proto[m] as Method);
  }
  return (ctx, emitter) => {
    (emitter as Bindable)[kCtx] = ctx;
  };
}
