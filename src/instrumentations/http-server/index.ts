// A lean node:http(s) SERVER instrumentation on Node's diagnostics_channel, emitting the server
// span and `http.server.request.duration` exactly as @opentelemetry/instrumentation-http 0.300.0
// does (attributes.ts), without wrapping Server.prototype.emit or running the handler inside
// context.with. The default for incoming requests (src/hooks/http-server.ts wires it);
// docs/notes/http-instrumentation-cost.md has the measurements.
//
// How it finds the requests: Node publishes `http.server.request.start` synchronously in
// parserOnIncoming (lib/_http_server.js, Node 22.15 to 24.21), with the server, before it decides
// whether the app sees the request. On a server's first request the subscriber gives that server
// an own `emit` that calls the one it shadows; the span starts there, on emit('request'), as
// upstream's does. So, like upstream: a request Node answers itself (400 for a missing Host, 503
// past maxRequestsPerSocket, 417, or one handed to 'checkContinue'/'checkExpectation' listeners)
// is not traced, and a handler that throws synchronously ends the span with the exception
// recorded, then the error goes on as before.
//
// How the handler gets the span's context without a wrapper around it: the span's context is made
// current with the API's `context.attach` (AsyncLocalStorage.enterWith in the AsyncLocalStorage
// context manager, @opentelemetry/api 1.10), so the handler and every callback, timer and promise
// it creates run in it. The token is never disposed: the next request emitted in the same
// execution attaches its own context before its handler runs, and the parser's execution ends
// with the socket's read callback.
import type * as Api from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RPC_METADATA_KEY, SPAN_KEY, withValue } from '../../trace/context';
import { OwnedAttributes } from '../../trace/owned';
import { DEFAULT_QUERY_STRINGS_TO_REDACT, headerCapture, incomingRequestAttributes, type RequestAttributeOptions } from './attributes';
import { prototypeBinder } from './bind';

export interface HttpServerInstrumentationConfig {
  ignoreIncomingRequestHook?: (request: IncomingMessage) => boolean;
  requireParentforIncomingSpans?: boolean;
  startIncomingSpanHook?: (request: IncomingMessage) => Api.Attributes;
  requestHook?: (span: Api.Span, request: IncomingMessage) => void;
  responseHook?: (span: Api.Span, response: ServerResponse) => void;
  applyCustomAttributesOnSpan?: (span: Api.Span, request: IncomingMessage, response: ServerResponse) => void;
  headersToSpanAttributes?: { server?: { requestHeaders?: string[]; responseHeaders?: string[] } };
  enableSyntheticSourceDetection?: boolean;
  redactedQueryParamsServer?: string[];
  /**
   * Bind the request and response emitters to the span's context, as upstream does, so that
   * listeners the app adds later ('data' of a body arriving in a later chunk) run in it. Default
   * true; false saves the per-request patching of eight emitter methods (measured in the note);
   * 'prototype' binds the same way at the cost of one property per request (bind.ts).
   */
  bindEmitters?: boolean | 'prototype';
}

interface StartMessage {
  server: Emitting;
}

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
/** A server: its emit is what the subscriber shadows, once, with an own property. */
type Emitting = { emit: Emit } & Record<symbol, Emit | undefined>;

/** What a request's span is ended with, kept on its response for the shared listeners. */
interface Pending {
  readonly request: IncomingMessage;
  readonly span: Api.Span;
  readonly rpc: import('@opentelemetry/core').RPCMetadata;
  readonly ctx: Api.Context;
  readonly startTime: number;
  /** The duration metric's attributes, as the span's were at its start. */
  readonly method: Api.AttributeValue | undefined;
  readonly scheme: Api.AttributeValue | undefined;
  readonly version: Api.AttributeValue | undefined;
  ended: boolean;
}
type Carrier = Record<symbol, Pending | undefined>;

/** The scope the spans and the histogram are recorded under. */
export interface Scope {
  readonly name: string;
  readonly version: string | undefined;
}

/** Upstream's scope, so the spans are the same as instrumentation-http's field for field. */
function upstreamScope(): Scope {
  const name = '@opentelemetry/instrumentation-http';
  try {
    const pkg = join(require.resolve(name), '..', '..', 'package.json');
    return { name, version: (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: string }).version };
  } catch {
    return { name, version: undefined };
  }
}

// Shared: tracers copy the status they are given (ours and sdk-trace's Span.setStatus).
const STATUS_UNSET: Api.SpanStatus = Object.freeze({ code: 0 });
const STATUS_ERROR: Api.SpanStatus = Object.freeze({ code: 2 });
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const START = 'http.server.request.start';
const PROBE = Symbol('otel-autoinstrument http-server attach probe');

/**
 * Whether the global context manager can attach a context: not one without ContextManager.attach,
 * which @opentelemetry/api answers with a warning and a no-op token.
 */
export function canAttach(api: typeof Api = require('@opentelemetry/api') as typeof Api): boolean {
  const probe = api.ROOT_CONTEXT.setValue(PROBE, true);
  const token = api.context.attach(probe);
  const ok = api.context.active() === probe;
  token.dispose();
  return ok;
}

export class HttpServerInstrumentation {
  private readonly api: typeof Api;
  private readonly core: typeof import('@opentelemetry/core');
  private readonly dc = require('node:diagnostics_channel') as typeof import('node:diagnostics_channel');
  private readonly errorMonitor = (require('node:events') as typeof import('node:events')).errorMonitor;
  private readonly scope: Scope;
  /** This instance's mark on the servers whose emit it shadows (the value: its wrapper). */
  private readonly kEmit = Symbol('otel-autoinstrument http-server emit');
  private enabled = false;
  private tracer: Api.Tracer | undefined;
  private histogram: Api.Histogram | undefined;
  /** How the request and response emitters get the span's context (bindEmitters). */
  private bind: ((ctx: Api.Context, emitter: object) => void) | undefined;
  private readonly captureRequest;
  private readonly captureResponse;
  private readonly httpOptions: RequestAttributeOptions;
  private readonly httpsOptions: RequestAttributeOptions;
  /** This instance's request state on a response; read by its 'close' and error listeners. */
  private readonly kPending = Symbol('otel-autoinstrument http-server request');
  /** The response's 'close' listener: the span ends, unless an error ended it. */
  private readonly onClose: (this: ServerResponse) => void;
  /**
   * The response's first 'finish' listener: leaves the request's context before Node's own
   * (resOnFinish) re-arms the socket's keep-alive timer. A timer keeps the context current when it
   * was made (AsyncContextFrame on Node 24, the async resource's store on 22) until it is replaced:
   * each keep-alive connection's timer held its last request's context, hence its span, until the
   * connection's next request. Under load those spans (about 1.6 KiB each with their attributes,
   * one per connection) survived every scavenge, most of what did with every request traced, and
   * V8 grows the young generation with what survives (issue 19). The change lasts until the end
   * of the callback the 'finish' is emitted in (Node restores its context then); listeners the app
   * adds run in the request's context as before (bound, bind.ts).
   */
  private readonly onFinish: () => void;
  /** The response's errorMonitor listener. */
  private readonly onError: (this: ServerResponse, err: unknown) => void;
  /** Servers whose emit could not be shadowed (a frozen object): not tried again, said once. */
  private readonly unwrappable = new WeakSet<object>();
  private readonly onStart = (message: unknown): void => {
    const server = (message as Partial<StartMessage> | undefined)?.server;
    // Again when something replaced our emit since (it then calls that one).
    if (server === undefined || server === null || server.emit === server[this.kEmit] || typeof server.emit !== 'function' || this.unwrappable.has(server)) return;
    // A subscriber's exception would surface as an uncaught exception in the app.
    try {
      this.shadowEmit(server);
    } catch (err) {
      this.unwrappable.add(server);
      this.api.diag.error('http-server instrumentation: this server\'s requests are not traced, its emit cannot be replaced', err);
    }
  };

  constructor(
    private readonly config: HttpServerInstrumentationConfig = {},
    api?: typeof Api,
    /** Default: upstream's name and the installed instrumentation-http's version. */
    scope?: Scope,
  ) {
    this.api = api ?? (require('@opentelemetry/api') as typeof Api);
    this.scope = scope ?? upstreamScope();
    this.core = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
    this.captureRequest = headerCapture('request', config.headersToSpanAttributes?.server?.requestHeaders ?? []);
    this.captureResponse = headerCapture('response', config.headersToSpanAttributes?.server?.responseHeaders ?? []);
    if (config.bindEmitters !== false && config.bindEmitters !== 'prototype') this.bind = (ctx, emitter) => this.api.context.bind(ctx, emitter);
    const options = { enableSyntheticSourceDetection: config.enableSyntheticSourceDetection === true, redactedQueryParams: config.redactedQueryParamsServer ?? DEFAULT_QUERY_STRINGS_TO_REDACT };
    this.httpOptions = { component: 'http', ...options };
    this.httpsOptions = { component: 'https', ...options };
    // One pair of listeners for every request, not two closures per request.
    const self = this;
    const k = this.kPending;
    this.onClose = function (this: ServerResponse): void {
      const p = (this as unknown as Carrier)[k];
      if (p === undefined || p.ended) return;
      p.ended = true;
      self.finish(p, this);
    };
    const context = this.api.context;
    const root = this.api.ROOT_CONTEXT;
    this.onFinish = (): void => {
      context.attach(root);
    };
    this.onError = function (this: ServerResponse, err: unknown): void {
      const p = (this as unknown as Carrier)[k];
      if (p !== undefined) self.failed(p, err);
    };
  }

  /** As upstream's InstrumentationBase: the global providers unless set. */
  setTracerProvider(provider: Api.TracerProvider): void {
    this.tracer = provider.getTracer(this.scope.name, this.scope.version);
  }

  setMeterProvider(provider: Api.MeterProvider): void {
    this.histogram = provider.getMeter(this.scope.name, this.scope.version).createHistogram('http.server.request.duration', {
      description: 'Duration of HTTP server requests.',
      unit: 's',
      valueType: this.api.ValueType.DOUBLE,
      advice: { explicitBucketBoundaries: BUCKETS },
    });
  }

  /**
   * Subscribes to the server channel (Node 22.15 to 24 publish it). False, and nothing done, when
   * the global context manager cannot attach a context (one without ContextManager.attach, which
   * @opentelemetry/api then answers with a warning and a no-op): the handler would not run in the
   * span's context, so the caller should use instrumentation-http instead.
   */
  enable(): boolean {
    if (this.enabled) return true;
    if (!this.canAttach()) return false;
    if (this.tracer === undefined) this.setTracerProvider(this.api.trace.getTracerProvider());
    if (this.histogram === undefined) this.setMeterProvider(this.api.metrics.getMeterProvider());
    if (this.config.bindEmitters === 'prototype' && this.bind === undefined) {
      // Patched once for the process, left in place by disable(): without the per-request
      // symbol the patched methods pass straight through.
      const http = require('node:http') as typeof import('node:http');
      this.bind = prototypeBinder(this.api, [http.IncomingMessage.prototype, http.ServerResponse.prototype]);
    }
    this.dc.subscribe(START, this.onStart);
    this.enabled = true;
    return true;
  }

  private canAttach(): boolean {
    return canAttach(this.api);
  }

  disable(): void {
    if (!this.enabled) return;
    this.dc.unsubscribe(START, this.onStart);
    this.enabled = false;
  }

  /** A user hook never reaches the app: upstream's safeExecuteInTheMiddle(..., true). */
  private safe<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.api.diag.error(`http-server instrumentation: ${what} threw`, err);
      return undefined;
    }
  }

  /**
   * The server's own emit: everything but 'request' goes straight to the emit it shadows (its own
   * earlier one, else its prototype's as it is at the call, so a later patch of the prototype
   * still runs). Not an arrow: `arguments` passes every argument on without copying them.
   */
  private shadowEmit(server: Emitting): void {
    const own = Object.prototype.hasOwnProperty.call(server, 'emit') ? server.emit : undefined;
    const proto = Object.getPrototypeOf(server) as { emit: Emit };
    const self = this;
    const emit = function (this: unknown, event: string | symbol): boolean {
      const next = own ?? proto.emit;
      // eslint-disable-next-line prefer-rest-params
      if (event !== 'request' || !self.enabled) return Reflect.apply(next, this, arguments) as boolean;
      // eslint-disable-next-line prefer-rest-params
      return self.emitRequest(next, this, arguments);
    } as Emit;
    server[this.kEmit] = emit;
    server.emit = emit;
  }

  /** emit('request', req, res) with the span around it: upstream's incomingRequest, without context.with. */
  private emitRequest(next: Emit, server: unknown, args: IArguments): boolean {
    let pending: Pending | undefined;
    try {
      const request = args[1] as IncomingMessage;
      pending = this.start(request, args[2] as ServerResponse, request.socket as Socket);
    } catch (err) {
      this.api.diag.error('http-server instrumentation: request start failed', err);
    }
    if (pending === undefined) return Reflect.apply(next, server, args) as boolean;
    try {
      return Reflect.apply(next, server, args) as boolean;
    } catch (err) {
      // A synchronous throw from a 'request' listener: recorded as upstream does, then it goes
      // on exactly as without us.
      this.failed(pending, err);
      throw err;
    }
  }

  /** Starts the span and makes its context current; returns the request's state (undefined when ignored). */
  private start(request: IncomingMessage, response: ServerResponse, socket: Socket): Pending | undefined {
    const { api, config } = this;
    const https = (socket as { encrypted?: boolean } | null)?.encrypted === true;
    const ignore = config.ignoreIncomingRequestHook;
    if (ignore !== undefined && this.safe('ignoreIncomingRequestHook', () => ignore(request)) === true) {
      // Upstream suppresses from the context active at emit; ROOT here, since on Node 22 the
      // parser's execution may still carry the previous request's context (never disposed).
      const suppressed = this.core.suppressTracing(api.ROOT_CONTEXT);
      api.context.attach(suppressed);
      this.bind?.(suppressed, request);
      this.bind?.(suppressed, response);
      return undefined;
    }
    const method = request.method || 'GET';
    const attributes = incomingRequestAttributes(request, https ? this.httpsOptions : this.httpOptions);
    let owned = true;
    const hook = config.startIncomingSpanHook;
    if (hook !== undefined) {
      Object.assign(attributes, this.safe('startIncomingSpanHook', () => hook(request)));
      owned = false;
    }
    if (this.captureRequest !== undefined) {
      Object.assign(attributes, this.captureRequest((h) => request.headers[h]));
      owned = false;
    }
    const startTime = performance.now();
    // Read before the span starts: once it has, the attributes may be the span's own (owned).
    const metricMethod = attributes['http.request.method'];
    const scheme = attributes['url.scheme'];
    const version = attributes['network.protocol.version'];
    const parent = api.propagation.extract(api.ROOT_CONTEXT, request.headers);
    const span = this.startSpan(method, attributes, parent, owned);
    const rpc: import('@opentelemetry/core').RPCMetadata = { type: this.core.RPCType.HTTP, span };
    // api.trace.setSpan and core.setRPCMetadata, at one small object each (trace/context.ts).
    const ctx = withValue(withValue(parent, SPAN_KEY, span), RPC_METADATA_KEY, rpc);
    api.context.attach(ctx);
    const pending: Pending = { request, span, rpc, ctx, startTime, method: metricMethod, scheme, version, ended: false };
    (response as unknown as Carrier)[this.kPending] = pending;
    // Added before the emitters are bound, so they are not wrapped: they need no context. Shared
    // by every request: they find it on the response.
    response.on('close', this.onClose);
    response.on(this.errorMonitor, this.onError);
    response.prependListener('finish', this.onFinish);
    this.bind?.(ctx, request);
    this.bind?.(ctx, response);
    const { requestHook, responseHook } = config;
    if (requestHook !== undefined) this.safe('requestHook', () => requestHook(span, request));
    if (responseHook !== undefined) this.safe('responseHook', () => responseHook(span, response));
    return pending;
  }

  /** The response's error (or the handler's throw) before it closed. */
  private failed(p: Pending, err: unknown): void {
    if (p.ended) return;
    p.ended = true;
    // upstream's setSpanWithError reads name and message of whatever was thrown
    this.safe('error', () => this.fail(p, (err ?? {}) as Error));
  }

  /** The attributes the duration is recorded with (upstream builds them at the start, from the same values). */
  private metricAttributes(p: Pending): Api.Attributes {
    const metric: Api.Attributes = { 'http.request.method': p.method, 'url.scheme': p.scheme };
    if (p.version) metric['network.protocol.version'] = p.version;
    return metric;
  }

  /** Upstream's _startHttpSpan for SERVER spans. */
  private startSpan(name: string, attributes: Api.Attributes, parent: Api.Context, owned: boolean): Api.Span {
    const { api } = this;
    if (this.config.requireParentforIncomingSpans === true) {
      const current = api.trace.getSpan(parent);
      if (current === undefined || !api.trace.isSpanContextValid(current.spanContext())) return api.trace.wrapSpanContext(api.INVALID_SPAN_CONTEXT);
      if (current.spanContext().isRemote) return current;
    }
    // Built here, referenced nowhere else: our tracer may keep it instead of a copy.
    const options: Api.SpanOptions = owned ? new OwnedAttributes(api.SpanKind.SERVER, attributes) : { kind: api.SpanKind.SERVER, attributes };
    return (this.tracer as Api.Tracer).startSpan(name, options, parent);
  }

  /** Upstream's _onServerResponseFinish and _closeHttpSpan. */
  private finish(p: Pending, response: ServerResponse): void {
    const { span, request } = p;
    const metric = this.metricAttributes(p);
    const status = response.statusCode;
    const route = p.rpc.type === this.core.RPCType.HTTP ? p.rpc.route : undefined;
    if (route !== undefined) metric['http.route'] = route;
    const error = status >= 500 && status < 600 ? String(status) : undefined;
    if (status) {
      metric['http.response.status_code'] = status;
      if (error !== undefined) metric['error.type'] ??= error;
    }
    if (this.captureResponse !== undefined) span.setAttributes(this.captureResponse((h) => response.getHeader(h)));
    // Upstream's setAttributes({ status code, route }), key by key in the same order.
    span.setAttribute('http.response.status_code', status);
    if (route !== undefined) span.setAttribute('http.route', route);
    span.setStatus(status >= 100 && status < 500 ? STATUS_UNSET : STATUS_ERROR);
    if (error !== undefined) span.setAttribute('error.type', error);
    if (route) span.updateName(`${request.method || 'GET'} ${route}`);
    const custom = this.config.applyCustomAttributesOnSpan;
    // In the request's context, where upstream's bound 'close' listener runs it: the 'close' is
    // emitted from Node's 'finish' listener, which runs after onFinish left that context.
    if (custom !== undefined) this.safe('applyCustomAttributesOnSpan', () => this.api.context.with(p.ctx, () => custom(span, request, response)));
    this.close(p, metric);
  }

  /** Upstream's _onServerResponseError. */
  private fail(p: Pending, err: Error): void {
    const { span } = p;
    const metric = this.metricAttributes(p);
    span.setAttribute('error.type', err.name);
    span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: err.message });
    span.recordException(err);
    metric['error.type'] = err.name;
    this.close(p, metric);
  }

  /** The measurement in the span's context, where upstream's bound 'close' listener records it. */
  private close(p: Pending, metric: Api.Attributes): void {
    p.span.end();
    this.histogram?.record((performance.now() - p.startTime) / 1e3, metric, p.ctx);
  }
}
