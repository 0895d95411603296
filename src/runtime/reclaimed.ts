import { GCProfiler } from 'node:v8';
import type { GcType } from './gc';

/** V8's GC profiler names for what the conventions call major, minor, incremental and weakcb. */
const PROFILER_TYPES: Record<string, GcType> = {
  Scavenge: 'minor',
  MinorMarkSweep: 'minor',
  MinorMarkCompact: 'minor',
  MarkSweepCompact: 'major',
  IncrementalMarking: 'incremental',
  ProcessWeakCallbacks: 'weakcb',
};

interface ProfiledGc {
  gcType: string;
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

/**
 * Heap bytes each GC freed, from V8's GC profiler (used heap before minus after). The profiler
 * hands its records over only when stopped, so it is restarted at every window: a GC that falls
 * between stop() and start() (a few statements) is missed, which docs/runtime-metrics.md states.
 */
export class ReclaimedBytes {
  private profiler: GCProfiler | undefined;

  start(): void {
    this.profiler = new GCProfiler();
    this.profiler.start();
  }

  /** Each GC since the last call, as [type, bytes freed]. */
  take(): Array<[GcType, number]> {
    const p = this.profiler;
    if (p === undefined) return [];
    const data = p.stop() as { statistics?: ProfiledGc[] } | undefined;
    this.start();
    return (data?.statistics ?? []).map((g) => [PROFILER_TYPES[g.gcType] ?? g.gcType, Math.max(0, g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize)]);
  }

  stop(): void {
    this.profiler?.stop();
    this.profiler = undefined;
  }
}
