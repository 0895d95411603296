import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { errorText, type Logger } from '../log';

type Api = typeof import('@opentelemetry/api');

/** What kind of unit of work a span and an observation describe (the `type` attribute). */
export type UnitType = 'function' | 'worker' | 'timer';
/** How a unit of work ended (the `state` attribute), as in Python's asyncio instrumentation. */
export type State = 'finished' | 'exception' | 'cancelled' | 'timeout';

export const DURATION_METRIC = 'autoinstrument.async.duration';
export const COUNT_METRIC = 'autoinstrument.async.count';
export const STATE_ATTRIBUTE = 'autoinstrument.async.state';

/** The semantic conventions' advice for duration histograms in seconds. */
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * An aborted AbortSignal rejects with an "AbortError" (DOMException or Node's own), AbortSignal.timeout()
 * with a "TimeoutError": the Node counterparts of asyncio's CancelledError and TimeoutError.
 */
export function stateOf(err: unknown): State {
  const e = typeof err === 'object' && err !== null ? (err as { name?: unknown; cause?: { name?: unknown } | null }) : undefined;
  if (e?.name === 'TimeoutError') return 'timeout';
  // Node's own AbortError (timers/promises, events.once, streams) carries the signal's reason as its cause.
  if (e?.name === 'AbortError') return e.cause?.name === 'TimeoutError' ? 'timeout' : 'cancelled';
  return 'exception';
}

/** Where observations go: this thread's instruments, or (in a worker) the main thread's. */
export interface MetricSink {
  record(unit: Unit, state: State, seconds: number): void;
}

/** One traced thing (a function, a worker script, a timer callback name): its names and attribute sets, made once. */
export class Unit {
  /** One attribute set per state, shared by every observation. */
  readonly metricAttributes: Readonly<Record<State, Attributes>>;
  /** "function sendInvoices": type and name are in the span name, not in span attributes, which cost ~1 µs per call. */
  readonly spanName: string;

  constructor(
    readonly type: UnitType,
    readonly name: string,
  ) {
    const attrs = (state: State): Attributes => Object.freeze({ type, name, state });
    this.metricAttributes = { finished: attrs('finished'), exception: attrs('exception'), cancelled: attrs('cancelled'), timeout: attrs('timeout') };
    this.spanName = `${type} ${name}`;
  }
}

/** The instruments of this thread's meter, created on the first observation. */
export function meterSink(api: Api, version: string): MetricSink {
  const meter = api.metrics.getMeter('otel-autoinstrument', version);
  const duration = meter.createHistogram(DURATION_METRIC, {
    unit: 's',
    description: 'Duration of traced async units of work: functions, worker threads, timer callbacks.',
    advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
  });
  const count = meter.createCounter(COUNT_METRIC, { unit: '{execution}', description: 'Traced async units of work that ended, by state.' });
  return {
    record(unit, state, seconds) {
      const a = unit.metricAttributes[state];
      duration.record(seconds, a);
      count.add(1, a);
    },
  };
}

/**
 * Runs units of work as spans plus observations. The hot path: one span, one context switch,
 * one histogram record and one counter add per call; attribute sets are made per unit, not per call.
 * Nothing here may throw into the app: our own failures are logged once and the app's call runs as is.
 */
export class Recorder {
  private readonly tracer: Tracer;
  private reported = false;

  constructor(
    private readonly api: Api,
    readonly sink: MetricSink,
    private readonly log: Logger,
    version: string,
  ) {
    this.tracer = api.trace.getTracer('otel-autoinstrument/async', version);
  }

  private fail(err: unknown): void {
    if (!this.reported) this.log.warn(`async tracing: ${errorText(err)}; the calls concerned run untraced`);
    this.reported = true;
  }

  /** A span for `unit`, child of the active span; undefined if our side failed. */
  startSpan(unit: Unit, parent: Context = this.api.context.active()): Span | undefined {
    try {
      return this.tracer.startSpan(unit.spanName, undefined, parent);
    } catch (err) {
      this.fail(err);
      return undefined;
    }
  }

  /** Ends the span and records the observation; `failed` tells an error apart from an `undefined` result. */
  end(unit: Unit, span: Span, start: number, failed: boolean, err?: unknown, state: State = failed ? stateOf(err) : 'finished', message?: string): void {
    try {
      this.sink.record(unit, state, (performance.now() - start) / 1000);
      span.setAttribute(STATE_ATTRIBUTE, state);
      if (failed && state !== 'cancelled') {
        if (err !== undefined) span.recordException(typeof err === 'object' && err !== null ? (err as Error) : String(err));
        span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: message ?? errorText(err) });
      }
      span.end();
    } catch (e) {
      this.fail(e);
    }
  }

  /**
   * Calls fn as one unit of work. A native promise result is followed to its settlement and a
   * promise settling the same way is returned: observing the original would mark its rejection
   * handled and hide an unhandled rejection from the app. Other thenables are returned untouched
   * (calling then() on a query builder runs the query) and the unit ends at the return.
   */
  invoke(unit: Unit, fn: (...a: unknown[]) => unknown, self: unknown, args: ArrayLike<unknown>): unknown {
    const start = performance.now();
    const parent = this.api.context.active();
    const span = this.startSpan(unit, parent);
    if (span === undefined) return Reflect.apply(fn, self, args);
    let result: unknown;
    try {
      result = this.api.context.with(this.api.trace.setSpan(parent, span), Reflect.apply, undefined, fn, self, args);
    } catch (err) {
      this.end(unit, span, start, true, err);
      throw err;
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          this.end(unit, span, start, false);
          return value;
        },
        (err: unknown) => {
          this.end(unit, span, start, true, err);
          throw err;
        },
      );
    }
    this.end(unit, span, start, false);
    return result;
  }
}
