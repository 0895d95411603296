import type { Meter, MeterProvider } from '@opentelemetry/api';
import type { Logger } from '../log';

/**
 * What happened to the telemetry handed to our exporters, per signal, since the process started.
 * These are the numbers of the semantic conventions' SDK self-metrics, kept in plain counters so
 * that reading them loads nothing:
 * - exported + failed = otel.sdk.exporter.{span,metric_data_point,log}.exported (failed ones
 *   carry error.type = the reason);
 * - dropped = otel.sdk.processor.{span,log}.processed with error.type=queue_full.
 */
export type Signal = 'traces' | 'metrics' | 'logs';

export interface SignalStats {
  /** Items the backend accepted. */
  exported: number;
  /** Items whose export failed for good (after the retries the OTLP spec allows). */
  failed: number;
  /** Items dropped before any export because the batch queue was full. */
  dropped: number;
  /** Items whose request was out when the process ended: they may or may not have arrived. */
  unknown: number;
  /** failed, by reason ("connection refused", "HTTP 500", "timeout", ...). */
  failedBy: Record<string, number>;
}

const ITEMS: Record<Signal, string> = { traces: 'spans', metrics: 'metric data points', logs: 'log records' };
const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];

const zero = (): SignalStats => ({ exported: 0, failed: 0, dropped: 0, unknown: 0, failedBy: {} });
const fresh = (): Record<Signal, SignalStats> => ({ traces: zero(), metrics: zero(), logs: zero() });

/** Since start. */
let total = fresh();
/** Since the last summary line. */
let pending = fresh();
let reporter: Reporter | undefined;

/** A copy of the counters since the process started. */
export function exportStats(): Record<Signal, SignalStats> {
  return structuredClone(total);
}

export function recordExported(signal: Signal, n: number): void {
  total[signal].exported += n;
}

export function recordFailed(signal: Signal, n: number, reason: string, where: string): void {
  for (const s of [total[signal], pending[signal]]) {
    s.failed += n;
    s.failedBy[reason] = (s.failedBy[reason] ?? 0) + n;
  }
  reporter?.lost(`${where}: export failed (${reason})`);
}

/** Sent, with no answer before the process ended (only at exit: the loss report's last line says it). */
export function recordUnknown(signal: Signal, n: number): void {
  total[signal].unknown += n;
  pending[signal].unknown += n;
}

export function recordDropped(signal: Signal, n: number, cause = `the ${signal} queue is full`): void {
  total[signal].dropped += n;
  pending[signal].dropped += n;
  reporter?.lost(cause);
}

/** One line per kind of loss, e.g. "traces: 512 spans (export failed: connection refused 512; queue full 20)". */
function describe(stats: Record<Signal, SignalStats>): string | undefined {
  const parts: string[] = [];
  for (const sig of SIGNALS) {
    const s = stats[sig];
    if (s.failed + s.dropped === 0) continue;
    const why = Object.entries(s.failedBy).map(([r, n]) => `${r} ${n}`);
    if (s.dropped > 0) why.push(`queue full ${s.dropped}`);
    parts.push(`${sig}: ${s.failed + s.dropped} ${ITEMS[sig]} (${why.join(', ')})`);
  }
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** "traces: 200 spans" for what was sent with no answer before exit. */
function describeUnknown(stats: Record<Signal, SignalStats>): string | undefined {
  const parts = SIGNALS.filter((sig) => stats[sig].unknown > 0).map((sig) => `${sig}: ${stats[sig].unknown} ${ITEMS[sig]}`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/**
 * One warning at the first loss, so the cause is seen at once; then at most one summary line per
 * interval, and one at shutdown, never a line per failed export (a backend that is down for an
 * hour fails thousands of them).
 */
class Reporter {
  private last = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  /** At exit everything goes into the one last line. */
  exiting = false;

  /** The first loss's cause, when it came while the process was ending: the exit line names it. */
  private firstCause: string | undefined;

  lost(cause: string): void {
    if (this.exiting) {
      this.firstCause ??= cause;
      return;
    }
    if (this.last === 0) {
      this.last = Date.now();
      const what = describe(pending) ?? '';
      pending = fresh();
      this.log.warn(`telemetry is being lost: ${cause}; ${what}. Losses are counted and summed up here at most once every ${Math.round(this.intervalMs / 1000)} s`);
      return;
    }
    // Unref'd: a summary never keeps the process alive; the shutdown summary covers the rest.
    this.timer ??= setTimeout(() => this.summary(), Math.max(0, this.last + this.intervalMs - Date.now())).unref();
  }

  private done = false;

  summary(final = false): void {
    if (this.done) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.done = final;
    const what = describe(pending);
    const unknown = describeUnknown(pending);
    pending = fresh();
    // Sent but not answered: not counted as lost, as it may have arrived.
    const maybe = unknown === undefined ? undefined : `${unknown} sent with no answer before exit (delivery unknown: the backend may have them)`;
    if (what === undefined) {
      if (maybe !== undefined) this.log.warn(`telemetry not confirmed at exit: ${maybe}`);
      return;
    }
    const cause = this.last === 0 && this.firstCause !== undefined ? `${this.firstCause}; ` : '';
    const when = this.last === 0 ? 'telemetry lost, reported at exit' : final ? 'telemetry lost since the last report, at exit' : 'telemetry lost since the last report';
    this.last = Date.now();
    this.log.warn(`${when}: ${cause}${what}${maybe !== undefined ? `; not confirmed: ${maybe}` : ''}`);
  }
}

/** Starts reporting losses through `log` (once per process; tests may shorten the interval). */
export function startLossReports(log: Logger, intervalMs: number): void {
  reporter ??= new Reporter(log, intervalMs);
}

/** The exit flush has begun: what is lost from now on goes into the one line at exit. */
export function lossesHeldForExit(): void {
  if (reporter) reporter.exiting = true;
}

/** The last summary, at exit: what was lost since the last line (`count` adds the last losses first). */
export function finalLossReport(count: () => void = () => undefined): void {
  if (reporter) reporter.exiting = true;
  count();
  reporter?.summary(true);
}

/** Told of each finished export: its duration and, when it failed, why (self-metrics). */
type DurationSink = (signal: Signal, seconds: number, reason: string | undefined) => void;
let durationSink: DurationSink | undefined;

export function recordExportDuration(signal: Signal, seconds: number, reason: string | undefined): void {
  durationSink?.(signal, seconds, reason);
}

/** Set once the self-metrics' histogram exists (src/sdk/self-metrics.ts). */
export function onExportDuration(sink: DurationSink | undefined): void {
  durationSink = sink;
}

/** For unit tests: forget everything. */
export function resetExportStats(): void {
  total = fresh();
  pending = fresh();
  reporter = undefined;
}

const PROCESSED = /^otel\.sdk\.processor\.(span|log)\.processed$/;

/**
 * A MeterProvider for the batch processors' `selfObsMeterProvider` option (a public option of
 * sdk-trace and sdk-logs 3.x): of what they record, only the queue_full drops are counted, here;
 * every other instrument is a no-op.
 */
export function queueDropCounter(signal: Signal, noopMeter: () => Meter): MeterProvider {
  return {
    getMeter(): Meter {
      // The API's no-op meter is a shared singleton: wrap it, never change it.
      const meter = noopMeter();
      const wrapped = Object.create(meter) as Meter;
      wrapped.createCounter = ((name: string, options?: Parameters<Meter['createCounter']>[1]) => {
        const inner = meter.createCounter(name, options);
        if (!PROCESSED.test(name)) return inner;
        return Object.assign(Object.create(inner) as typeof inner, {
          add(n: number, attrs?: Record<string, unknown>): void {
            if (attrs?.['error.type'] === 'queue_full') recordDropped(signal, n);
          },
        });
      }) as Meter['createCounter'];
      return wrapped;
    },
  };
}
