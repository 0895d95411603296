// Binding the request and response emitters to the span's context, as the AsyncLocalStorage
// context manager's bind(ctx, emitter) does (context-async-hooks 3.0.0 _bindEventEmitter: every
// listener added later runs in ctx; removeListener/off/removeAllListeners find the wrapped
// listener), but paid once instead of per request: the listener methods of IncomingMessage and
// ServerResponse are replaced once, on their prototypes, by functions that read the context from
// a symbol on the instance. Per request the cost is one property store; emitters without the
// symbol (client responses, requests of ignored servers) go straight to the original method.
// An experiment (bindEmitters: 'prototype'); the measurements are in
// docs/notes/http-instrumentation-cost.md.
import type * as Api from '@opentelemetry/api';

const kCtx = Symbol('otel-autoinstrument bound context');
const kMap = Symbol('otel-autoinstrument bound listeners');
const ADD = ['addListener', 'on', 'once', 'prependListener', 'prependOnceListener'] as const;
const REMOVE = ['removeListener', 'off'] as const;

type Listener = (...args: unknown[]) => unknown;
type Method = (this: Bindable, event: string | symbol, listener?: Listener) => unknown;
interface Bindable {
  [kCtx]?: Api.Context;
  [kMap]?: Record<string | symbol, WeakMap<Listener, Listener>>;
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
      const map = (this[kMap] ??= Object.create(null) as Record<string | symbol, WeakMap<Listener, Listener>>);
      const bound = api.context.bind(ctx, listener);
      (map[event] ??= new WeakMap()).set(listener, bound);
      adding = true;
      try {
        return original.call(this, event, bound);
      } finally {
        adding = false;
      }
    };
  const remove = (original: Method): Method =>
    function (this: Bindable, event, listener) {
      const bound = listener !== undefined ? this[kMap]?.[event]?.get(listener) : undefined;
      return original.call(this, event, bound ?? listener);
    };
  const removeAll = (original: Method): Method =>
    function (this: Bindable, ...args: unknown[]) {
      const map = this[kMap];
      const event = args[0] as string | symbol | undefined;
      if (map !== undefined) {
        if (args.length === 0) this[kMap] = undefined;
        else if (event !== undefined) delete map[event];
      }
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  for (const proto of prototypes as Record<string, Method>[]) {
    for (const m of ADD) proto[m] = add(proto[m] as Method);
    for (const m of REMOVE) proto[m] = remove(proto[m] as Method);
    proto.removeAllListeners = removeAll(proto.removeAllListeners as Method);
  }
  return (ctx, emitter) => {
    (emitter as Bindable)[kCtx] = ctx;
  };
}
