import type { ExportResult } from '@opentelemetry/core';
import type { Logger } from '../log';
import { errorText } from '../log';
import { SpanBatch } from '../otlp/span-batch';
import { recordDropped, recordExportDuration, recordExported, recordFailed, recordUnknown, type Signal } from './export-stats';
import { ExportFailure, type ExportProgress, offerProgress } from './otlp-transport';

/** What span, metric and log record exporters have in common. */
export interface Exporter<I> {
  export(items: I, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

// ExportResultCode.SUCCESS and FAILED, without loading @opentelemetry/core for two constants.
const SUCCESS = 0;
const FAILED = 1;

/** Spans and log records come in arrays; metrics as one ResourceMetrics, counted in data points. */
function countItems(items: unknown): number {
  if (Array.isArray(items)) return items.length;
  if (items instanceof SpanBatch) return items.count;
  let n = 0;
  const scopes = (items as { scopeMetrics?: { metrics?: { dataPoints?: unknown[] }[] }[] } | undefined)?.scopeMetrics ?? [];
  for (const s of scopes) for (const m of s.metrics ?? []) n += m.dataPoints?.length ?? 0;
  return n;
}

type MetricsBatch = { scopeMetrics?: { metrics?: { aggregationTemporality?: number; dataPoints?: unknown[] }[] }[] } | undefined;

/** AggregationTemporality.DELTA (sdk-metrics), without loading sdk-metrics for one constant. */
const DELTA = 0;

/**
 * What dropping a batch loses. A metrics collection left out loses only its delta points: a
 * cumulative point or a gauge is carried, newer, by the next collection.
 */
function lostIfDropped(items: unknown, signal: Signal): number {
  if (signal !== 'metrics') return countItems(items);
  let n = 0;
  for (const s of (items as MetricsBatch)?.scopeMetrics ?? []) for (const m of s.metrics ?? []) if (m.aggregationTemporality === DELTA) n += m.dataPoints?.length ?? 0;
  return n;
}

function reasonOf(error: Error | undefined): string {
  if (error === undefined) return 'export failed';
  const reason = (error as { reason?: unknown }).reason;
  return typeof reason === 'string' ? reason : errorText(error);
}

/** How much telemetry may wait in exports that are still retrying. */
export interface InFlightLimits {
  readonly maxItems?: number;
  readonly maxBatches?: number;
}

const all = new Set<LazyExporter<unknown>>();

/** Waits for every export still retrying, in every exporter; never rejects. */
export async function settleAllExports(): Promise<void> {
  await Promise.all([...all].map((e) => e.settle()));
}

/**
 * At exit (synchronous: nothing more can be sent): what is still in flight is counted, as lost
 * when it is known not to have arrived, as unknown when a request for it was out.
 */
export function abandonAllExports(): void {
  for (const e of all) e.abandon();
}

/**
 * Stands in for an exporter until its first export: the OTLP exporter packages are the largest
 * part of an SDK's startup (270-380 files each), and an app that exits before exporting
 * anything never needs them. A factory that throws costs one warning and its telemetry, not the
 * app. Every export's outcome is counted in export-stats.
 *
 * A batch is acknowledged as soon as the real export starts, and retried here, within
 * `limits`: the batch processors arm a ref'd timer for each export they wait on, which kept a
 * finished script alive for 10 s per batch while the backend was down. Past the limits a batch
 * is dropped and counted, so memory stays bounded; the exit flush waits for what is in flight.
 */
export class LazyExporter<I> implements Exporter<I> {
  private real: Exporter<I> | undefined;
  private failed = false;
  private readonly inFlight = new Set<Promise<void>>();
  private inFlightItems = 0;

  constructor(
    readonly label: string,
    private readonly make: () => Exporter<I>,
    private readonly log: Logger,
    private readonly signal: Signal,
    private readonly limits: InFlightLimits = {},
  ) {
    all.add(this as LazyExporter<unknown>);
  }

  get loaded(): boolean {
    return this.real !== undefined;
  }

  private get(): Exporter<I> | undefined {
    if (this.real === undefined && !this.failed) {
      try {
        this.real = this.make();
      } catch (err) {
        this.failed = true;
        this.log.warn(`${this.label}: could not be created (${errorText(err)}); its telemetry is dropped`);
      }
    }
    return this.real;
  }

  export(items: I, done: (result: ExportResult) => void): void {
    const n = countItems(items);
    const real = this.get();
    if (real === undefined) {
      recordFailed(this.signal, n, 'no exporter', this.label);
      done({ code: FAILED });
      return;
    }
    const { maxItems = Infinity, maxBatches = Infinity } = this.limits;
    if (this.inFlight.size > 0 && (this.inFlight.size >= maxBatches || this.inFlightItems + n > maxItems)) {
      const lost = lostIfDropped(items, this.signal);
      if (lost > 0) recordDropped(this.signal, lost, `${this.label}: exports are not getting through and the retry buffer is full`);
      done({ code: FAILED, error: new ExportFailure('retry buffer full') });
      return;
    }
    this.inFlightItems += n;
    let settled!: () => void;
    const p = new Promise<void>((resolve) => (settled = resolve));
    this.inFlight.add(p);
    const progress: ExportProgress = { claimed: false, sending: false };
    this.inFlightBatches.set(items, { n, progress });
    let answered = false;
    const started = performance.now();
    const finish = (result: ExportResult): void => {
      if (answered) return;
      answered = true;
      this.inFlightItems -= n;
      this.inFlight.delete(p);
      const reason = result.code === SUCCESS ? undefined : reasonOf(result.error);
      if (reason === undefined) recordExported(this.signal, n);
      else recordFailed(this.signal, n, reason, this.label);
      recordExportDuration(this.signal, (performance.now() - started) / 1000, reason);
      this.inFlightBatches.delete(items);
      settled();
    };
    try {
      offerProgress(progress, () => real.export(items, finish));
    } catch (err) {
      finish({ code: FAILED, error: err instanceof Error ? err : new Error(String(err)) });
    }
    done({ code: SUCCESS });
  }

  /** The batches whose export has started and is not over, with their item counts and progress. */
  private readonly inFlightBatches = new Map<I, { readonly n: number; readonly progress: ExportProgress }>();

  /**
   * At exit: takes the batches with no request out (waiting between attempts), for exit-send.ts
   * to send and count. Those with a request out stay, for abandon() to count as unknown: sending
   * them again could deliver them twice.
   */
  takeIdle(): I[] {
    const out: I[] = [];
    for (const [items, { n, progress }] of this.inFlightBatches) {
      if (!progress.claimed || progress.sending) continue;
      out.push(items);
      this.inFlightItems -= n;
      this.inFlightBatches.delete(items);
    }
    return out;
  }

  abandon(): void {
    for (const { n, progress } of this.inFlightBatches.values()) {
      // Not ours to follow (no transport of ours), or a request out with no answer yet: it may have arrived.
      if (!progress.claimed || progress.sending) recordUnknown(this.signal, n);
      else recordFailed(this.signal, n, progress.lastReason !== undefined ? `not sent before exit, last attempt: ${progress.lastReason}` : 'not sent before exit', this.label);
    }
    this.inFlightItems = 0;
    this.inFlight.clear();
    this.inFlightBatches.clear();
  }

  /** Resolves when every export started so far has succeeded or failed for good. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async shutdown(): Promise<void> {
    await this.settle();
    if (this.real) await this.real.shutdown();
  }

  async forceFlush(): Promise<void> {
    await this.settle();
    if (this.real?.forceFlush) await this.real.forceFlush();
  }
}
