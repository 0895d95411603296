// A lean Express instrumentation: upstream's @opentelemetry/instrumentation-express (0.72) with
// its per-request work replaced (issue 19). Upstream's module patching stays as it is (Router
// route/use and application.use, Express 4 and the Express 5 `router` layout, its scope name and
// version, its config); only `_applyPatch`, which wraps each layer's `handle` as the app
// registers it, is ours. What the wrapped handle does per request is what upstream's does (the
// same spans, names, attributes, parents, status, exception events, the server span's route
// through the RPC metadata, the same end conditions), at less cost:
// - no Array.from(arguments), no context.bind closures (context.with instead), no metadata,
//   filter and join arrays per layer: the route is built in one pass over the layer paths;
// - one small LayerCall per span (what upstream keeps in three closures) and its `next` wrapper;
// - for layers that return without calling next (the final handler, async middleware): one
//   shared 'close' listener per response, added past the emitter binding of our http-server
//   instrumentation, instead of a res.once('close') closure per layer (each wrapped again by
//   that binding, and searched through on removeListener when next comes later);
// - the context given to `next` is the parent context itself when nothing changed it.
// Per request, one property on the request (upstream's `__ot_middlewares` array of layer paths
// and its close listeners' closures become one RequestState): adding a property to a request or
// response grows its property store, which measured as much as the rest of a layer's work.
// Measurements: docs/express.md.
import type * as Api from '@opentelemetry/api';
import type * as Core from '@opentelemetry/core';
import { EventEmitter } from 'node:events';

/** On a request: its RequestState. */
const kState = Symbol('otel-autoinstrument express request');
/** Marks a layer whose handle we wrapped (upstream's kLayerPatched is its module's own symbol). */
const kPatched = Symbol('otel-autoinstrument express layer patched');

type Handle = ((this: unknown, ...args: unknown[]) => unknown) & Record<string, unknown>;
interface Layer {
  name?: string;
  path?: unknown;
  handle?: Handle & { stack?: Layer[] };
  route?: { path?: unknown };
  [kPatched]?: true;
}
interface Req {
  [kState]?: RequestState;
  originalUrl?: string;
  route?: unknown;
}
interface Res {
  /** Node's ServerResponse.req. */
  req?: Req;
  /** Only when `req` is not the request the state is on (a response the app made up). */
  [kState]?: RequestState;
}

/** What one request carries for the express instrumentation. */
class RequestState {
  /**
   * The paths of the layers the request is in (upstream's `__ot_middlewares`, with which the
   * route is built: ["/api", "/v1", "/users/:id"]).
   */
  readonly paths: string[] = [];
  /** The layer calls whose spans end when the response closes, unless their next() comes first. */
  open: LayerCall[] | undefined = undefined;
}

export interface LeanExpressConfig {
  ignoreLayers?: unknown[];
  ignoreLayersType?: string[];
  spanNameHook?: (info: { request: unknown; layerType: string; route: string }, defaultName: string) => string | undefined;
  requestHook?: (span: Api.Span, info: { request: unknown; layerType: string; route: string }) => void;
}

/** Config keys the lean patch reads, besides InstrumentationBase's own `enabled`. */
const KEYS = new Set(['enabled', 'ignoreLayers', 'ignoreLayersType', 'spanNameHook', 'requestHook']);

/** Why the lean patch cannot stand in for upstream's with this config, or undefined when it can. */
export function unsupportedReason(config: Readonly<Record<string, unknown>>): string | undefined {
  const unknown = Object.keys(config).filter((k) => !KEYS.has(k));
  if (unknown.length > 0) return `its config has ${unknown.map((k) => `"${k}"`).join(', ')}, which only instrumentation-express reads`;
  return undefined;
}

/** The part of upstream's class the subclass relies on. */
interface UpstreamExpress {
  readonly tracer: Api.Tracer;
  getConfig(): LeanExpressConfig;
  _applyPatch(layer: Layer, layerPath: string | undefined): void;
}
type UpstreamCtor = new (config: object) => UpstreamExpress;

/**
 * Why upstream's class cannot be given our layer patch, or undefined. `_applyPatch` and
 * `_getSpanName` are private methods of instrumentation-express 0.72 (instrumentation.ts); a
 * version without them is left as it is. Test: test/unit/express-lean.test.mjs.
 */
export function incompatibleReason(Upstream: unknown): string | undefined {
  const proto = (Upstream as { prototype?: Record<string, unknown> } | undefined)?.prototype;
  if (typeof proto?._applyPatch !== 'function' || typeof proto._getSpanName !== 'function') return 'this instrumentation-express has no _applyPatch/_getSpanName to replace';
  return undefined;
}

/**
 * One layer's span for one request: what upstream keeps in the closures of its patched handle
 * (spanHasEnded, onResponseEnded, the next wrapper's state).
 */
class LayerCall {
  ended = false;
  constructor(
    readonly span: Api.Span,
    /** The context the layer was entered in: the one its next() restores the parent span of. */
    readonly parent: Api.Context,
    /** The context the layer ran in (the parent's, for a router, whose span has already ended). */
    readonly current: Api.Context,
    readonly req: Req,
    readonly state: RequestState,
    readonly pathStored: boolean,
  ) {}
}

/** The 'close' listener shared by every response: ends the spans of the layers still open. */
function onResponseClose(this: Res): void {
  const state = this[kState] ?? this.req?.[kState];
  const open = state?.open;
  if (state === undefined || open === undefined) return;
  state.open = undefined;
  for (const call of open) {
    if (call.ended) continue;
    call.ended = true;
    call.span.end();
  }
}

/** upstream's asErrorAndMessage. */
function errorAndMessage(error: unknown): [Api.Exception, string] {
  return error instanceof Error ? [error, error.message] : [String(error), String(error)];
}

/** A path segment of upstream's getConstructedRoute: "/", "/*" and Express 5's "/{*name}" say nothing. */
function meaningful(path: string): boolean {
  return path !== '/' && path !== '/*' && !(path.startsWith('/{*') && /^\/\{[*][^}]*\}$/.test(path));
}

/** upstream's getConstructedRoute, in one pass. */
export function constructedRoute(paths: readonly string[] | undefined): string {
  if (paths === undefined) return '';
  let out = '';
  let count = 0;
  let only = '';
  for (const p of paths) {
    if (!meaningful(p)) continue;
    count++;
    only = p;
    out += p;
  }
  if (count === 1 && only === '*') return '*';
  return out.includes('//') ? out.replace(/\/{2,}/g, '/') : out;
}

/** upstream's getActualMatchedRoute (the http.route of a layer span and of the server span). */
export function matchedRoute(paths: readonly string[] | undefined, originalUrl: string | undefined, constructed: string): string | undefined {
  if (paths === undefined || paths.length === 0) return undefined;
  if (allSlash(paths)) return originalUrl === '/' ? '/' : undefined;
  if (constructed === '*') return constructed;
  if (constructed.includes('/') && (constructed.includes(',') || constructed.includes('\\') || constructed.includes('*') || constructed.includes('['))) return constructed;
  const normalized = constructed.startsWith('/') ? constructed : `/${constructed}`;
  // upstream's reads req.originalUrl.startsWith, which throws without one (express always sets it).
  const url = typeof originalUrl === 'string' ? originalUrl : '';
  return normalized.length > 0 && (url === normalized || url.startsWith(normalized) || normalized.includes(':') || normalized.includes('*')) ? normalized : undefined;
}

function allSlash(paths: readonly string[]): boolean {
  for (const p of paths) if (p !== '/') return false;
  return true;
}

/** upstream's getRouterPath. */
function routerPath(path: string, layer: Layer): string {
  const first = layer.handle?.stack?.[0];
  if (first?.route?.path) return `${path}${String(first.route.path)}`;
  if (first?.handle?.stack) return routerPath(path, first);
  return path;
}

const MIDDLEWARE = 'middleware';
const ROUTER = 'router';
const REQUEST_HANDLER = 'request_handler';

/** upstream's isLayerIgnored, given what it is given: the layer's default span name ("middleware - name"). */
function ignored(name: string, type: string, config: LeanExpressConfig): boolean {
  if (Array.isArray(config.ignoreLayersType) && config.ignoreLayersType.includes(type)) return true;
  if (!Array.isArray(config.ignoreLayers)) return false;
  try {
    for (const pattern of config.ignoreLayers) {
      if (typeof pattern === 'string' ? pattern === name : pattern instanceof RegExp ? pattern.test(name) : typeof pattern === 'function' ? (pattern as (n: string) => unknown)(name) : unsupported()) return true;
    }
  } catch {
    // upstream's: a throwing matcher (or one of an unsupported type) ignores nothing more.
  }
  return false;
}
function unsupported(): never {
  throw new TypeError('Pattern is in unsupported datatype');
}

/**
 * Upstream's ExpressInstrumentation with our layer patch. Built from the class the catalog
 * loaded, so the scope name and version, the module definitions and config stay upstream's.
 */
export function leanExpressClass<T extends UpstreamCtor>(Upstream: T, api: typeof Api, core: typeof Core): T {
  const { context, trace, SpanStatusCode, diag } = api;
  const HTTP = core.RPCType.HTTP;
  const getRPCMetadata = core.getRPCMetadata;

  class LeanExpressInstrumentation extends (Upstream as UpstreamCtor) {
    /** Replaces upstream's per-layer patch (instrumentation.ts _applyPatch); called as the app registers a layer. */
    override _applyPatch(layer: Layer, layerPath: string | undefined): void {
      if (layer[kPatched] === true) return;
      layer[kPatched] = true;
      const original = layer.handle;
      if (typeof original !== 'function') return;
      // Error handlers (four parameters) are not traced, as upstream.
      if (original.length === 4) return;
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      const instrumentation = this;
      const patched = function (this: unknown, req: Req, res: Res): unknown {
        // eslint-disable-next-line prefer-rest-params
        return instrumentation._leanHandle(layer, layerPath, original, this, req, res, arguments);
      } as unknown as Handle;
      // What upstream's _wrap and its getters give the wrapper: the original's own properties
      // (a router's `stack`, read through the layer by upstream's getRouterPath and by apps).
      for (const key in original) {
        Object.defineProperty(patched, key, {
          get: () => original[key],
          set: (value: unknown) => {
            original[key] = value;
          },
        });
      }
      Object.defineProperty(patched, '__original', { value: original, configurable: true, writable: true });
      Object.defineProperty(patched, '__wrapped', { value: true, configurable: true, writable: true });
      layer.handle = patched;
    }

    _leanHandle(layer: Layer, layerPath: string | undefined, original: Handle, self: unknown, req: Req, res: Res, args: IArguments): unknown {
      let call: LayerCall | undefined;
      try {
        call = this._leanStart(layer, layerPath, req);
      } catch (err) {
        // Not expected; but a fault of ours must not fail the app's request.
        diag.error('express instrumentation: the layer runs untraced', err);
      }
      if (call === undefined) return Reflect.apply(original, self, args);
      const { span, state } = call;
      const parent = call.parent;

      // upstream replaces the first function argument (the layer's `next`) with one ending the span.
      const n = args.length;
      let callbackIdx = -1;
      for (let i = 0; i < n; i++) {
        if (typeof args[i] === 'function') {
          callbackIdx = i;
          break;
        }
      }
      let out: unknown;
      // A router's layer runs in the context it was entered in: no switch (context.with would
      // find the same context current and call it anyway, after copying its arguments twice).
      const same = call.current === parent;
      try {
        if (callbackIdx === 2 && n === 3) {
          const next = nextFor(call, args[2] as Handle);
          out = same ? original.call(self, req, res, next) : context.with(call.current, original, self, req, res, next);
        } else {
          const copy = Array.prototype.slice.call(args);
          if (callbackIdx >= 0) copy[callbackIdx] = nextFor(call, copy[callbackIdx] as Handle);
          out = same ? Reflect.apply(original, self, copy) : context.with(call.current, Reflect.apply, undefined, original, self, copy);
        }
      } catch (anyError) {
        const [error, message] = errorAndMessage(anyError);
        span.recordException(error);
        span.setStatus({ code: SpanStatusCode.ERROR, message });
        throw anyError;
      } finally {
        // Not ended yet: the layer calls next() later, or ends the response itself. The span ends
        // on whichever comes first, as upstream's res.once('close') does.
        if (!call.ended && res instanceof EventEmitter) {
          const open = state.open;
          if (open !== undefined) open.push(call);
          else {
            state.open = [call];
            if (res.req !== req) res[kState] = state;
            // Past the prototype methods (our http-server binding would wrap it in the server
            // span's context, which ending a span does not need): EventEmitter's own `on`.
            emitterOn.call(res, 'close', onResponseClose);
          }
        }
      }
      return out;
    }

    /**
     * upstream's patched handle up to the call of the layer: the layer path, route, RPC metadata
     * route, span and hooks. Undefined when the layer runs untraced (ignored, or no active span).
     */
    _leanStart(layer: Layer, layerPath: string | undefined, req: Req): LayerCall | undefined {
      let state = req[kState];
      if (state === undefined) {
        state = new RequestState();
        req[kState] = state;
      }
      const paths = state.paths;
      const pathStored = layerPath !== undefined;
      if (pathStored) paths.push(layerPath);
      const route = constructedRoute(paths);
      const httpRoute = matchedRoute(paths, req.originalUrl, route);

      // upstream's getLayerMetadata
      let type: string;
      let name: string;
      let spanName: string;
      if (layer.name === 'router') {
        type = ROUTER;
        name = routerPath('', layer) || layerPath || route || '/';
        spanName = `router - ${name}`;
      } else if (layer.name === 'bound dispatch' || layer.name === 'handle') {
        type = REQUEST_HANDLER;
        name = (route || layerPath) ?? 'request handler';
        spanName = layer.path ? `request handler - ${route || layerPath}` : 'request handler';
      } else {
        type = MIDDLEWARE;
        name = layer.name as string;
        spanName = `middleware - ${name}`;
      }

      const parent = context.active();
      const rpc = getRPCMetadata(parent);
      if (rpc?.type === HTTP) rpc.route = httpRoute;
      const config = this.getConfig();
      if (ignored(spanName, type, config)) {
        if (type !== ROUTER && pathStored) paths.pop();
        return undefined;
      }
      const parentSpan = trace.getSpan(parent);
      if (parentSpan === undefined) return undefined;

      // Each hook its own info object, as upstream's.
      if (config.spanNameHook instanceof Function) spanName = this._leanSpanName(config.spanNameHook, { request: req, layerType: type, route }, spanName);
      const attributes: Api.Attributes = httpRoute === undefined ? { 'express.name': name, 'express.type': type } : { 'http.route': httpRoute, 'express.name': name, 'express.type': type };
      const span = this.tracer.startSpan(spanName, { attributes });
      const hook = config.requestHook;
      if (hook) {
        try {
          hook(span, { request: req, layerType: type, route });
        } catch (e) {
          diag.error('express instrumentation: request hook failed', e);
        }
      }
      const isRouter = type === ROUTER;
      const call = new LayerCall(span, parent, isRouter ? parent : trace.setSpan(parent, span), req, state, pathStored);
      if (isRouter) {
        span.end();
        call.ended = true;
      }
      return call;
    }

    private _leanSpanName(hook: NonNullable<LeanExpressConfig['spanNameHook']>, info: { request: unknown; layerType: string; route: string }, defaultName: string): string {
      try {
        return hook(info, defaultName) ?? defaultName;
      } catch (err) {
        diag.error('express instrumentation: error calling span name rewrite hook', err);
        return defaultName;
      }
    }
  }

  /** The layer's `next`, wrapped: ends the span (recording an error passed on), then goes on in the parent span. */
  function nextFor(call: LayerCall, callback: Handle): Handle {
    return function (this: unknown, maybeError?: unknown): unknown {
      const isError = maybeError !== undefined && maybeError !== null && maybeError !== 'route' && maybeError !== 'router';
      if (!call.ended) {
        if (isError) {
          const [error, message] = errorAndMessage(maybeError);
          call.span.recordException(error);
          call.span.setStatus({ code: SpanStatusCode.ERROR, message });
        }
        call.ended = true;
        call.span.end();
      }
      const req = call.req;
      if (!(req.route && isError) && call.pathStored) call.state.paths.pop();
      // upstream: the active context with the parent's span. When the active context is still the
      // one the layer ran in (next() called from the layer's own code), that is the parent context.
      const active = context.active();
      const parentSpan = trace.getSpan(call.parent);
      const next = active === call.current || active === call.parent ? call.parent : parentSpan !== undefined && trace.getSpan(active) !== parentSpan ? trace.setSpan(active, parentSpan) : active;
      // eslint-disable-next-line prefer-rest-params
      return next === active ? Reflect.apply(callback, this, arguments) : context.with(next, Reflect.apply, undefined, callback, this, arguments);
    } as Handle;
  }

  return LeanExpressInstrumentation as unknown as T;
}

const emitterOn = EventEmitter.prototype.on as (this: unknown, event: string, listener: (this: Res) => void) => unknown;
