import { monitorEventLoopDelay, performance, type ELDHistogram, type EventLoopUtilization } from 'node:perf_hooks';

export interface DelayStats {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stddev: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

export interface DelayWindow {
  /** Summary of the window in seconds; undefined when it had no sample. */
  readonly stats: DelayStats | undefined;
  /** How many samples fell in each bucket of `bounds` (seconds), plus one overflow bucket. */
  readonly counts: readonly number[];
  /** A value (seconds) inside each bucket to record for its samples, and the window's min and max. */
  readonly representatives: readonly number[];
  readonly utilization: number | undefined;
}

/**
 * Event-loop delay from Node's native sampler (monitorEventLoopDelay: a libuv timer, no JavaScript
 * runs per sample; a JS interval timer at 10 ms cost 2 to 4 times its CPU while idle). The native
 * sampler hands out only an HdrHistogram, so at each window close the number of samples at or
 * below each bucket bound is read from it exactly, by binary search over ranks with
 * percentile(): bucket counts are exact to HdrHistogram's precision (3 significant digits).
 */
export class EventLoopSampler {
  private readonly monitor: ELDHistogram;
  private eluMark: EventLoopUtilization | undefined;
  private readonly boundsNs: readonly number[];

  constructor(
    resolutionMs: number,
    private readonly bounds: readonly number[],
  ) {
    this.monitor = monitorEventLoopDelay({ resolution: resolutionMs });
    this.boundsNs = bounds.map((b) => b * 1e9);
  }

  start(): void {
    this.monitor.enable();
    this.eluMark = performance.eventLoopUtilization();
  }

  closeWindow(): DelayWindow {
    const h = this.monitor;
    const count = h.count;
    const s = (ns: number): number => ns / 1e9;
    const { counts, representatives } = bucketCounts(h, this.boundsNs);
    const stats = count === 0 ? undefined : { min: s(h.min), max: s(h.max), mean: s(h.mean), stddev: s(h.stddev), p50: s(h.percentile(50)), p90: s(h.percentile(90)), p99: s(h.percentile(99)) };
    h.reset();
    const now = performance.eventLoopUtilization();
    const utilization = this.eluMark ? performance.eventLoopUtilization(now, this.eluMark).utilization : undefined;
    this.eluMark = now;
    return { stats, counts, representatives, utilization };
  }

  stop(): void {
    this.monitor.disable();
  }
}

/**
 * From an HdrHistogram of nanoseconds: how many samples fall at or below each bound and above the
 * previous one (plus an overflow bucket), and for each bucket the value (seconds) of its middle
 * sample. percentile(100 * r / n) is the value of the r-th smallest sample, so each count is a
 * binary search over ranks.
 */
export function bucketCounts(h: Pick<ELDHistogram, 'count' | 'percentile'>, boundsNs: readonly number[]): { counts: number[]; representatives: number[] } {
  const count = h.count;
  const atRank = (r: number): number => h.percentile((100 * r) / count);
  const counts: number[] = [];
  const representatives: number[] = [];
  let below = 0;
  for (const bound of [...boundsNs, Infinity]) {
    let lo = below;
    let hi = count;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (atRank(mid) <= bound) lo = mid;
      else hi = mid - 1;
    }
    counts.push(lo - below);
    representatives.push(lo > below ? atRank(Math.ceil((below + 1 + lo) / 2)) / 1e9 : 0);
    below = lo;
  }
  return { counts, representatives };
}

/** Cumulative time the loop spent active and idle, in seconds, since the loop started. */
export function eventLoopTime(): { active: number; idle: number } {
  const u = performance.eventLoopUtilization();
  return { active: u.active / 1e3, idle: u.idle / 1e3 };
}
