import type { ExportResult } from '@opentelemetry/core';
import type { Logger } from '../log';
import { errorText } from '../log';
import { recordDropped, recordExportDuration, recordExported, recordFailed, type Signal } from './export-stats';
import { ExportFailure } from './otlp-transport';

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
  let n = 0;
  const scopes = (items as { scopeMetrics?: { metrics?: { dataPoints?: unknown[] }[] }[] } | undefined)?.scopeMetrics ?? [];
  for (const s of scopes) for (const m of s.metrics ?? []) n += m.dataPoints?.length ?? 0;
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
 * At exit (synchronous: nothing more can be sent): counts what is still being retried as
 * lost, so the last report says so.
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
    private readonly label: string,
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
      recordDropped(this.signal, n, `${this.label}: exports are not getting through and the retry buffer is full`);
      done({ code: FAILED, error: new ExportFailure('retry buffer full') });
      return;
    }
    this.inFlightItems += n;
    let settled!: () => void;
    const p = new Promise<void>((resolve) => (settled = resolve));
    this.inFlight.add(p);
    this.inFlightBatches.add(items);
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
      real.export(items, finish);
    } catch (err) {
      finish({ code: FAILED, error: err instanceof Error ? err : new Error(String(err)) });
    }
    done({ code: SUCCESS });
  }

  /** The batches whose export has started and is not over (exit-send.ts sends them at exit). */
  readonly inFlightBatches = new Set<I>();

  /** What is still retrying was delivered another way (exit-send.ts): not lost, not to count. */
  forget(): void {
    this.inFlightItems = 0;
    this.inFlight.clear();
    this.inFlightBatches.clear();
  }

  /** The last failed attempt's reason, told by the transport. */
  lastReason: string | undefined;

  abandon(): void {
    const why = this.lastReason !== undefined ? `not sent before exit, last attempt: ${this.lastReason}` : 'not sent before exit';
    if (this.inFlightItems > 0) recordFailed(this.signal, this.inFlightItems, why, this.label);
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
