import { fold, type FoldOptions, type Folded, toSnapshotOf } from './fold';
import type { Snapshot } from './snapshot';

/** Retired contributors are folded into one total once this many have ended. */
const COMPACT_AFTER = 16;

/**
 * The latest cumulative snapshot of each contributor (process or thread) and the totals of those
 * that ended. An ended contributor's counters and histograms are kept, so totals never go
 * backwards when a worker dies or is replaced; its gauges and up-down counters go with it.
 */
export class Aggregate {
  private readonly live = new Map<string, Snapshot>();
  /** Ended, kept whole for a while: a final snapshot may still arrive after the exit is seen. */
  private readonly ended = new Map<string, Snapshot>();
  private readonly compacted = new Set<string>();
  private retired: Folded = new Map();

  constructor(private readonly options: FoldOptions) {}

  get empty(): boolean {
    return this.live.size === 0 && this.ended.size === 0 && this.retired.size === 0;
  }

  /** Contributors now live. */
  get liveCount(): number {
    return this.live.size;
  }

  update(s: Snapshot): void {
    // Already folded into the retired totals: taking it again would count it twice.
    if (this.compacted.has(s.source)) return;
    if (this.ended.has(s.source)) this.ended.set(s.source, s);
    else this.live.set(s.source, s);
  }

  retire(source: string): void {
    const s = this.live.get(source);
    if (s === undefined) return;
    this.live.delete(source);
    this.ended.set(source, s);
    if (this.ended.size < COMPACT_AFTER) return;
    for (const [src, snap] of this.ended) {
      fold(this.retired, snap, { ...this.options, monotonicOnly: true });
      this.compacted.add(src);
    }
    this.ended.clear();
  }

  /** Folds every contributor, live and ended, into `into`. */
  foldInto(into: Folded): void {
    if (this.retired.size > 0) fold(into, toSnapshotOf(this.retired, { source: 'retired', pid: process.pid }), this.options);
    const monotonic = { ...this.options, monotonicOnly: true };
    for (const s of this.ended.values()) fold(into, s, monotonic);
    for (const s of this.live.values()) fold(into, s, this.options);
  }
}
