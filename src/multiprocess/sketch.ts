/**
 * A mergeable quantile sketch for summaries (the DDSketch idea): logarithmic buckets with a
 * relative accuracy of 2 %, so sketches from any number of threads and processes add bucket by
 * bucket and their quantiles are those of all the observations together. prom-client's t-digests
 * cannot be merged, which is why its cluster mode averages percentiles.
 *
 * Positive values from 1e-9 to 1e9 have their own buckets (values beyond are clamped to the end
 * buckets); zero has one; negative values share one, reported as the window's minimum.
 */
export const RELATIVE_ACCURACY = 0.02;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LN_GAMMA = Math.log(GAMMA);
const MIN_INDEX = Math.floor(Math.log(1e-9) / LN_GAMMA);
const MAX_INDEX = Math.ceil(Math.log(1e9) / LN_GAMMA);
export const SKETCH_BUCKETS = MAX_INDEX - MIN_INDEX + 1;

/** The bucket of a positive value. */
export function bucketOf(v: number): number {
  const i = Math.ceil(Math.log(v) / LN_GAMMA);
  return (i < MIN_INDEX ? MIN_INDEX : i > MAX_INDEX ? MAX_INDEX : i) - MIN_INDEX;
}

/** The value a bucket stands for: within RELATIVE_ACCURACY of every value in it. */
function bucketValue(b: number): number {
  return (2 * GAMMA ** (b + MIN_INDEX)) / (GAMMA + 1);
}

/** A summary's state as snapshots carry it: cumulative count and sum, and the window's sketch. */
export interface SummaryValue {
  count: number;
  sum: number;
  /** Observations in the current window, and its sketch (bucket -> count; only non-empty ones). */
  wcount: number;
  min: number | null;
  max: number | null;
  neg: number;
  zero: number;
  buckets: Record<string, number>;
}

export const isSummary = (v: unknown): v is SummaryValue => typeof v === 'object' && v !== null && 'wcount' in v;

export function mergeSummaries(a: SummaryValue, b: SummaryValue): SummaryValue {
  const buckets: Record<string, number> = { ...a.buckets };
  for (const [k, n] of Object.entries(b.buckets)) buckets[k] = (buckets[k] ?? 0) + n;
  return {
    count: a.count + b.count,
    sum: a.sum + b.sum,
    wcount: a.wcount + b.wcount,
    min: a.min === null ? b.min : b.min === null ? a.min : Math.min(a.min, b.min),
    max: a.max === null ? b.max : b.max === null ? a.max : Math.max(a.max, b.max),
    neg: a.neg + b.neg,
    zero: a.zero + b.zero,
    buckets,
  };
}

/** The q-quantile of the window; 0 when it is empty (as prom-client reports). */
export function quantile(s: SummaryValue, q: number): number {
  if (s.wcount <= 0) return 0;
  if (q <= 0 && s.min !== null) return s.min;
  if (q >= 1 && s.max !== null) return s.max;
  const rank = q * (s.wcount - 1);
  let seen = s.neg;
  let v: number | undefined;
  if (rank < seen) v = s.min ?? 0;
  else if (rank < (seen += s.zero)) v = 0;
  else {
    const keys = Object.keys(s.buckets)
      .map(Number)
      .sort((x, y) => x - y);
    for (const k of keys) {
      seen += s.buckets[k]!;
      if (rank < seen) {
        v = bucketValue(k);
        break;
      }
    }
    v ??= s.max ?? 0;
  }
  // Never outside what was observed.
  if (s.min !== null && v < s.min) v = s.min;
  if (s.max !== null && v > s.max) v = s.max;
  return v;
}
