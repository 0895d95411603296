import type { ContextAPI } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import { SpanBatch } from '../otlp/span-batch';
import { SUPPRESS_TRACING } from '../trace/suppress';
import type { Exporter } from './lazy-exporter';

/** What the processor hands its exporter: spans as objects (before the exporter could take bytes), or already encoded. */
export type SpanItems = ReadableSpan[] | SpanBatch;

export interface EncodingOptions {
  readonly exporter: Exporter<SpanItems>;
  /** OTLP/JSON rather than protobuf. */
  readonly json: boolean;
  /**
   * Whether the exporter takes SpanBatch items (our serializer is in it). Unknown, so false,
   * until its first export loads it: until then spans are kept as objects, as upstream does.
   */
  readonly takesEncoded: () => boolean;
  readonly maxQueueSize?: number | undefined;
  readonly maxExportBatchSize?: number | undefined;
  readonly scheduledDelayMillis?: number | undefined;
  readonly exportTimeoutMillis?: number | undefined;
  /** Spans dropped because the queue was full. */
  readonly onDrop: (n: number) => void;
  /** A span that could not be encoded (a malformed span): lost, counted by the caller. */
  readonly onEncodeError: (err: unknown) => void;
  /** The API, for the suppressed context exports run in. */
  readonly context: Pick<ContextAPI, 'active' | 'with'>;
}

/** sdk-trace's Resource, as far as the wait for asynchronous attributes goes. */
interface AsyncResource {
  readonly asyncAttributesPending?: boolean | undefined;
  waitForAsyncAttributes?(): Promise<void>;
}

const SAMPLED = 1;
const SUCCESS = 0;

/**
 * Upstream's BatchSpanProcessor (sdk-trace 3.0 BatchSpanProcessorBase), with one difference:
 * each span is encoded to OTLP bytes in onEnd, so what waits in the queue is bytes, not span
 * objects. Under load a span object that waits for its batch survives the young generation's
 * scavenges; V8 then grows the young generation (128 MiB of new space at 33k spans/s, issue 19).
 * Encoded at end, the span dies young. The rest is upstream's behaviour: the same settings and
 * defaults, batches of maxExportBatchSize spans in end order (so each request has the bytes
 * upstream's serializer writes for the same batch), a full queue drops the newest span and counts
 * it, a full batch is exported at once and a partial one after the delay, forceFlush exports
 * everything, shutdown once, exports run with tracing suppressed, after asynchronous resource
 * attributes settle.
 */
export class EncodingSpanProcessor implements SpanProcessor {
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly delay: number;
  private readonly timeout: number;
  /** Oldest first; every batch but the last holds maxBatch spans, as upstream's splice(0, maxBatch) cuts its queue. */
  private batches: SpanItems[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Set while spans may wait in a SpanBatch's stage for the end of the event loop's turn. */
  private drainPending = false;
  private exporting = false;
  private shutdownPromise: Promise<void> | undefined;

  constructor(private readonly o: EncodingOptions) {
    this.maxQueue = o.maxQueueSize ?? 2048;
    this.maxBatch = Math.min(o.maxExportBatchSize ?? 512, this.maxQueue);
    this.delay = o.scheduledDelayMillis ?? 5000;
    this.timeout = o.exportTimeoutMillis ?? 30000;
  }

  /** Spans queued, not yet handed to the exporter. */
  get queuedCount(): number {
    return this.queued;
  }

  /**
   * At exit: what is queued, and the batches taken for export that still wait for asynchronous
   * resource attributes (upstream's processor loses those silently at process.exit()). Not
   * taken out: nothing runs after.
   */
  queuedItems(): readonly SpanItems[] {
    for (const b of this.batches) if (!Array.isArray(b)) b.drain();
    return [...this.waiting, ...this.batches.filter((b) => count(b) > 0)];
  }

  /** Batches out of the queue, waiting for their resources' asynchronous attributes before export. */
  private readonly waiting = new Set<SpanItems>();

  /** A span a SpanBatch could not encode (when its staged spans are encoded): out of the queue, counted lost. */
  private readonly encodeFailed = (err: unknown): void => {
    this.queued--;
    this.o.onEncodeError(err);
  };

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.shutdownPromise !== undefined) return;
    if ((span.spanContext().traceFlags & SAMPLED) === 0) return;
    if (this.queued >= this.maxQueue) {
      this.o.onDrop(1);
      return;
    }
    let b = this.batches[this.batches.length - 1];
    if (b === undefined || count(b) >= this.maxBatch) {
      b = this.o.takesEncoded() ? new SpanBatch(this.o.json, this.encodeFailed) : [];
      this.batches.push(b);
    }
    if (Array.isArray(b)) {
      b.push(span);
    } else {
      try {
        b.add(span);
      } catch (err) {
        this.o.onEncodeError(err);
        return;
      }
      // A local root ends last in its process (the request's server span): its trace's spans
      // here are encoded together, now. Others wait at most for the end of the loop's turn.
      const parent = span.parentSpanContext;
      if (parent === undefined || parent.isRemote === true) b.drain();
      else if (!this.drainPending) {
        this.drainPending = true;
        setImmediate(this.drainStaged).unref();
      }
    }
    this.queued++;
    this.maybeStartTimer();
  }

  forceFlush(): Promise<void> {
    return this.shutdownPromise ?? this.flushAll();
  }

  shutdown(): Promise<void> {
    this.shutdownPromise ??= Promise.resolve()
      .then(() => this.flushAll())
      .then(() => this.o.exporter.shutdown());
    return this.shutdownPromise;
  }

  private flushAll(): Promise<void> {
    const n = this.batches.length;
    const all: Promise<void>[] = [];
    for (let i = 0; i < n; i++) all.push(this.flushOne());
    return Promise.all(all).then(() => undefined);
  }

  private flushOne(): Promise<void> {
    this.clearTimer();
    const items = this.batches.shift();
    if (items === undefined) return Promise.resolve();
    // Its last spans encoded now, so its count is what will be sent.
    if (!Array.isArray(items)) items.drain();
    const n = count(items);
    this.queued -= n;
    if (n === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      // Unref'd, unlike upstream's: the lazy exporter answers at once, and a timer must never hold the exit.
      const timer = setTimeout(() => reject(new Error('Timeout')), this.timeout);
      timer.unref();
      const ctx = this.o.context.active().setValue(SUPPRESS_TRACING, true);
      const doExport = (): void =>
        this.o.context.with(ctx, () =>
          this.o.exporter.export(items, (result: ExportResult) => {
            clearTimeout(timer);
            if (result.code === SUCCESS) resolve();
            else reject(result.error ?? new Error('span export failed'));
          }),
        );
      let pending: Promise<void>[] | undefined;
      const resources: readonly AsyncResource[] = Array.isArray(items) ? items.map((s) => s.resource) : (items.resourceList() as AsyncResource[]);
      for (const r of resources) {
        if (r.asyncAttributesPending && r.waitForAsyncAttributes) (pending ??= []).push(r.waitForAsyncAttributes());
      }
      if (pending === undefined) return doExport();
      this.waiting.add(items);
      const settled = (): void => void this.waiting.delete(items);
      Promise.all(pending).then(
        () => {
          settled();
          doExport();
        },
        (err: unknown) => {
          settled();
          reject(err);
        },
      );
    });
  }

  /**
   * Staged spans (span-batch.ts STAGE, up to 32) are encoded when a local root span ends (with
   * the rest of its trace's spans that ended before it), else at the end of the event loop's turn
   * they ended in, rather than only when 32 have ended. A staged span is a live object (its
   * attributes, context, times): V8 grows the young generation with the bytes that survive its
   * scavenges (issue 19). Measured under load (node:http, Node 24, every request traced, bytes
   * surviving each scavenge in steady state, --trace-gc-nvp): 21 KiB staged by 32, 14 KiB by
   * turn, 7 KiB by local root. A trace's spans are still encoded together, as one by one each
   * span's encoding cost Express more (span-batch.ts). One immediate per turn at most, not per span.
   */
  private readonly drainStaged = (): void => {
    this.drainPending = false;
    for (const b of this.batches) if (!Array.isArray(b)) b.drain();
  };

  /** Exports the oldest batch; made once, not per span (a closure per onEnd was measurable: the bundle names each one). */
  private readonly flushNow = (): void => {
    this.exporting = true;
    this.flushOne()
      .finally(() => {
        this.exporting = false;
        if (this.queued > 0) {
          this.clearTimer();
          this.maybeStartTimer();
        }
      })
      // A failed export is counted where it failed (LazyExporter, export-stats).
      .catch(() => undefined);
  };

  private maybeStartTimer(): void {
    if (this.exporting) return;
    if (this.queued >= this.maxBatch) return this.flushNow();
    if (this.timer !== undefined) return;
    this.timer = setTimeout(this.flushNow, this.delay);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

function count(items: SpanItems): number {
  return Array.isArray(items) ? items.length : items.count;
}
