import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/** major, minor, incremental or weakcb; a kind V8 adds later is reported as its number (the conventions allow custom values). */
export type GcType = string;

const KINDS = new Map<number, GcType>([
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  // Minor Mark-Sweep, V8's alternative young-generation collector (not in older @types/node).
  [(constants as { NODE_PERFORMANCE_GC_MINOR_MARK_SWEEP?: number }).NODE_PERFORMANCE_GC_MINOR_MARK_SWEEP ?? 2, 'minor'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/** GCs seen before the metrics SDK exists wait here; past this many the rest are only counted. */
const MAX_PENDING = 10_000;

export type GcSink = (type: GcType, seconds: number) => void;

/**
 * Every GC entry V8 reports, not only the first of each batch: under allocation pressure the
 * observer is handed many entries at once, and those are the GCs that matter. Starts with the
 * process and buffers until the SDK is there, so the GCs of the first second are counted too
 * without building the SDK for them.
 */
export class GcObserver {
  // Node calls this outside any try: a throw here would be the app's uncaught exception.
  private readonly observer = new PerformanceObserver((list) => {
    try {
      this.take(list.getEntries());
    } catch {
      // a GC not recorded; the next batch is
    }
  });
  private sink: GcSink | undefined;
  private pending: Array<[GcType, number]> = [];
  /** GCs that did not fit in the buffer before the SDK existed. */
  dropped = 0;
  /** Integer nanoseconds per type, for the gc_time extra: no float drift however long the process runs. */
  readonly totalNs = new Map<GcType, number>();

  constructor(private readonly keepTime: boolean) {}

  start(): void {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  attach(sink: GcSink): void {
    this.sink = sink;
    const pending = this.pending;
    this.pending = [];
    for (const [type, s] of pending) sink(type, s);
  }

  /** Entries V8 has queued but not delivered yet: taken at shutdown so the last GCs are counted. */
  drain(): void {
    this.take(this.observer.takeRecords());
  }

  stop(): void {
    this.observer.disconnect();
  }

  private take(entries: readonly PerformanceEntry[]): void {
    for (const e of entries) {
      // A gc entry's detail is { kind, flags } (Node >= 16).
      const kind = ((e as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind;
      const type = (kind !== undefined && KINDS.get(kind)) || String(kind);
      if (this.keepTime) this.totalNs.set(type, (this.totalNs.get(type) ?? 0) + Math.round(e.duration * 1e6));
      const seconds = e.duration / 1e3;
      if (this.sink !== undefined) this.sink(type, seconds);
      else if (this.pending.length < MAX_PENDING) this.pending.push([type, seconds]);
      else this.dropped++;
    }
  }
}
