import { errorText } from '../log';

/** The transport contract of @opentelemetry/otlp-exporter-base 0.300 (exporter-transport.d.ts). */
export interface ExportResponse {
  status: 'success' | 'failure' | 'retryable';
  data?: Uint8Array;
  error?: Error;
  retryInMillis?: number;
}
export interface Transport {
  send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse>;
  shutdown(): void;
}

/**
 * A failed export, already counted and reported by export-stats: the error handler we install
 * does not print it again. `reason` is short and holds no secret (no URL, no header).
 */
export class ExportFailure extends Error {
  override readonly name = 'OtlpExportFailure';
  constructor(readonly reason: string) {
    super(reason);
  }
}

type Outcome = { kind: 'success' } | { kind: 'retry'; reason: string; after?: number } | { kind: 'fail'; reason: string; mismatch?: boolean };

export const NETWORK: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ETIMEDOUT: 'timeout',
  EAI_AGAIN: 'DNS lookup failed',
  ENOTFOUND: 'host not found',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
};

/** gRPC status codes the OTLP exporter spec calls retryable (RESOURCE_EXHAUSTED only with RetryInfo, which grpc-js does not surface). */
const GRPC_RETRYABLE: Record<number, string> = { 1: 'CANCELLED', 4: 'DEADLINE_EXCEEDED', 10: 'ABORTED', 11: 'OUT_OF_RANGE', 14: 'UNAVAILABLE', 15: 'DATA_LOSS' };

function codeOf(err: unknown): unknown {
  return err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
}

/** An HTTP/1.1 client's view of an HTTP/2-only (gRPC) server: llhttp fails on the HTTP/2 frames. */
function looksLikeGrpcServer(err: unknown): boolean {
  return typeof codeOf(err) === 'string' && String(codeOf(err)).startsWith('HPE_');
}

function classifyHttp(res: ExportResponse): Outcome {
  if (res.status === 'success') return { kind: 'success' };
  const err = res.error;
  const code = codeOf(err);
  if (res.status === 'retryable') {
    if (typeof code === 'string') return { kind: 'retry', reason: NETWORK[code] ?? code };
    if (err?.message === 'Request timed out') return { kind: 'retry', reason: 'timeout' };
    // upstream's transport answers 429/502/503/504 as retryable without the status code.
    return res.retryInMillis !== undefined && res.retryInMillis > 0
      ? { kind: 'retry', reason: 'throttled (HTTP 429 or 503 with Retry-After)', after: res.retryInMillis }
      : { kind: 'retry', reason: 'HTTP 429, 502, 503 or 504' };
  }
  if (looksLikeGrpcServer(err)) return { kind: 'fail', reason: 'wrong protocol (a gRPC endpoint)', mismatch: true };
  // OTLPExporterError carries the HTTP status as a number.
  if (typeof code === 'number') return { kind: 'fail', reason: `HTTP ${code}` };
  if (typeof code === 'string' && NETWORK[code] !== undefined) return { kind: 'fail', reason: NETWORK[code] };
  return { kind: 'fail', reason: err ? errorText(err) : 'export failed' };
}

function classifyGrpc(res: ExportResponse): Outcome {
  if (res.status === 'success') return { kind: 'success' };
  const err = res.error;
  const code = codeOf(err);
  const details = String((err as { details?: unknown } | undefined)?.details ?? err?.message ?? '');
  if (typeof code !== 'number') return { kind: 'fail', reason: err ? errorText(err) : 'export failed' };
  // grpc-js on an HTTP/1.1 server: "No connection established. Last error: Protocol error".
  if (code === 14 && /Protocol error/.test(details)) return { kind: 'fail', reason: 'wrong protocol (an HTTP/1.1 endpoint)', mismatch: true };
  const name = GRPC_RETRYABLE[code];
  if (name === undefined) return { kind: 'fail', reason: `gRPC status ${code}` };
  const net = /(ECONN\w+|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN)/.exec(details)?.[1];
  if (code === 4) return { kind: 'retry', reason: 'timeout' };
  return { kind: 'retry', reason: net !== undefined ? (NETWORK[net] ?? net) : `gRPC ${name}` };
}

/**
 * Where one batch's export stands, for the count at exit: a batch cut short while a request was
 * out may well have arrived (the body was sent, the answer had not come); one waiting between
 * attempts, or throttled, has not.
 */
export interface ExportProgress {
  /** A transport of ours took charge of the batch (else its fate at exit is unknown). */
  claimed: boolean;
  /** A request is out, not answered yet. */
  sending: boolean;
  /** Why the last attempt failed. */
  lastReason?: string;
}

let offered: ExportProgress | undefined;

/**
 * Runs `fn` (an upstream exporter's export()) with `progress` offered to the transport it calls:
 * upstream's export delegate serializes and calls transport.send() synchronously
 * (otlp-exporter-base 0.300, otlp-export-delegate), so the send that claims it is this batch's.
 * Test: test/e2e/loss-report.test.mjs fails (unknown counted as lost) if the call goes async.
 */
export function offerProgress(progress: ExportProgress, fn: () => void): void {
  offered = progress;
  try {
    fn();
  } finally {
    offered = undefined;
  }
}

function claimProgress(): ExportProgress {
  const p = offered ?? { claimed: false, sending: false };
  offered = undefined;
  p.claimed = true;
  return p;
}

let ending = false;

/**
 * The process is ending (its exit flush has begun): a refused connection is no longer retried.
 * Nothing listens there, and waiting for a backend to come back would hold the app's exit for the
 * whole flush deadline; the loss is counted and reported like any other.
 */
export function exportsEnding(): void {
  ending = true;
}

const INITIAL_BACKOFF = 1000;
const MAX_BACKOFF = 5000;
const MULTIPLIER = 1.5;
const JITTER = 0.2;

/** Unref'd: a backoff never keeps the process alive; the exit flush holds it for a bounded time instead. */
const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/**
 * Retries as the OTLP exporter spec asks (exponential backoff with jitter, within the export
 * timeout, Retry-After honoured), the same schedule as upstream's RetryingTransport, with three
 * differences: its waits never hold the event loop; gRPC is retried too (upstream's gRPC
 * exporter does not retry at all in 0.300); a Retry-After also holds back the exports that
 * follow, instead of each one hitting the throttled backend again. Every failure ends as an
 * ExportFailure with a short reason, and a protocol mix-up (gRPC vs HTTP) is recognised.
 */
export class ResilientTransport implements Transport {
  private notBefore = 0;

  constructor(
    private readonly inner: Transport,
    private readonly grpc: boolean,
    private readonly onMismatch: () => void,
  ) {}

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    // Before any await: the batch offered is the caller's.
    const progress = claimProgress();
    const deadline = Date.now() + timeoutMillis;
    let backoff = INITIAL_BACKOFF;
    let reason = 'timeout';
    for (;;) {
      const hold = this.notBefore - Date.now();
      if (hold > 0) {
        if (Date.now() + hold >= deadline) return failure(`${reason === 'timeout' ? 'throttled' : reason}; the backend's Retry-After outlasts the export timeout`);
        await sleep(hold);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) return failure(reason);
      let res: ExportResponse;
      progress.sending = true;
      try {
        res = await this.inner.send(data, remaining);
      } catch (err) {
        res = { status: 'failure', error: err instanceof Error ? err : new Error(String(err)) };
      }
      progress.sending = false;
      const o = this.grpc ? classifyGrpc(res) : classifyHttp(res);
      if (o.kind === 'success') return res;
      reason = o.reason;
      progress.lastReason = reason;
      if (o.kind === 'fail') {
        if (o.mismatch) this.onMismatch();
        return failure(reason);
      }
      if (ending && reason === NETWORK.ECONNREFUSED) return failure(reason);
      const wait = o.after ?? Math.min(backoff, MAX_BACKOFF) * (1 + (Math.random() * 2 - 1) * JITTER);
      backoff *= MULTIPLIER;
      if (o.after !== undefined) this.notBefore = Date.now() + o.after;
      if (Date.now() + wait >= deadline) return failure(reason);
      await sleep(wait);
    }
  }

  shutdown(): void {
    this.inner.shutdown();
  }
}

const failure = (reason: string): ExportResponse => ({ status: 'failure', error: new ExportFailure(reason) });

/** What loadUtilsByRequire reads of otlp-exporter-base 0.300's HttpExporterTransport (private). */
interface HttpTransportInternals {
  _utils?: unknown;
  _parameters?: { url?: unknown; agentFactory?: unknown };
  _loadUtils?: unknown;
}

/**
 * Upstream's http transport (otlp-exporter-base 0.300, HttpExporterTransport._loadUtils) gets
 * node:http(s)'s `request` with a dynamic import() at its first export. Node then builds the ESM
 * facade of node:http, which reads every export, and the lazy `WebSocket`/`CloseEvent`/
 * `MessageEvent` getters load undici: about 1.5 MiB of heap (undici and the ESM loader) made at
 * the first export, under load, all of which survives into the old generation and counts toward
 * V8 growing the young generation (issue 19), besides the code. The same function through
 * require(), with the same agent: `_loadUtils` replaced on this instance, only when it is the
 * shape we know (else upstream's runs). Test: test/unit/otlp-transport.test.mjs exports through
 * it and checks that undici was not loaded.
 */
function loadUtilsByRequire(t: HttpTransportInternals): void {
  const params = t._parameters;
  if (t._utils !== null || typeof t._loadUtils !== 'function' || params === undefined) return;
  const { url, agentFactory } = params;
  if (typeof url !== 'string' || typeof agentFactory !== 'function') return;
  t._loadUtils = async function (this: HttpTransportInternals): Promise<unknown> {
    if (this._utils === null || this._utils === undefined) {
      const protocol = new URL(url).protocol;
      const agent: unknown = await (agentFactory as (protocol: string) => unknown)(protocol);
      const mod = protocol === 'http:' ? (require('node:http') as typeof import('node:http')) : (require('node:https') as typeof import('node:https'));
      this._utils = { agent, request: mod.request };
    }
    return this._utils;
  };
}

interface Delegating {
  _delegate?: { _transport?: Transport & { _transport?: Transport } };
}

const isTransport = (t: unknown): t is Transport => t !== null && typeof t === 'object' && typeof (t as Transport).send === 'function' && typeof (t as Transport).shutdown === 'function';

/**
 * Puts a ResilientTransport under an upstream OTLP exporter. This reaches into private fields of
 * @opentelemetry/otlp-exporter-base 0.300: OTLPExporterBase keeps its export delegate in
 * `_delegate`, the delegate its transport in `_transport`; for http/* that transport is a
 * RetryingTransport whose own `_transport` is the plain http one we retry instead. There is no
 * public way to change the retry policy or to keep its timers from holding the process.
 * Returns false (and the exporter keeps upstream's behaviour) when the shape is not as expected.
 * Test: test/unit/otlp-transport.test.mjs builds every OTLP exporter and checks it is wrapped.
 */
export function installResilientTransport(exporter: unknown, grpc: boolean, onMismatch: () => void): boolean {
  const delegate = (exporter as Delegating)._delegate;
  const current = delegate?._transport;
  if (delegate === undefined || !isTransport(current)) return false;
  if (current instanceof ResilientTransport) return true;
  let inner: Transport = current;
  if (!grpc) {
    if (!isTransport(current._transport)) return false;
    inner = current._transport;
    loadUtilsByRequire(inner as HttpTransportInternals);
  }
  delegate._transport = new ResilientTransport(inner, grpc, onMismatch);
  return true;
}
