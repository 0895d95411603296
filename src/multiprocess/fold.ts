import type { Attributes } from '@opentelemetry/api';
import type { AggregationTemporality, InstrumentType, MetricData, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { GaugePolicy } from './policy';
import { isSummary, mergeSummaries, type SummaryValue } from './sketch';
import { type HistValue, type Kind, msToHr, type SnapMetric, type SnapPoint, type Snapshot } from './snapshot';

/**
 * Merging contributors: counters, up-down counters and histograms add; gauges follow their
 * policy (docs/multiprocess-metrics.md). A fold never mutates the snapshots it reads, which are
 * kept and folded again at every collection.
 */
export interface FoldMetric {
  readonly meta: Omit<SnapMetric, 'points'>;
  readonly points: Map<string, SnapPoint>;
}
export interface FoldScope {
  readonly scope: { name: string; version?: string; schemaUrl?: string };
  readonly metrics: Map<string, FoldMetric>;
}
export type Folded = Map<string, FoldScope>;

/** Attribute sets as one key, whatever order their keys were written in. */
export function attrKey(a: Attributes): string {
  const keys = Object.keys(a);
  if (keys.length === 0) return '';
  keys.sort();
  return JSON.stringify(keys.map((k) => [k, a[k]]));
}

type Value = number | HistValue | SummaryValue;

const copyValue = (v: Value): Value => (typeof v === 'number' ? v : isSummary(v) ? { ...v, buckets: { ...v.buckets } } : { ...v, bounds: v.bounds.slice(), counts: v.counts.slice() });

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** a + b for sums, histograms and summaries; undefined when two histograms' buckets differ. */
function add(a: Value, b: Value): Value | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'number' || typeof b === 'number') return undefined;
  if (isSummary(a) || isSummary(b)) return isSummary(a) && isSummary(b) ? mergeSummaries(a, b) : undefined;
  if (!sameBounds(a.bounds, b.bounds)) return undefined;
  return {
    bounds: a.bounds,
    counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)),
    sum: a.sum + b.sum,
    min: a.min === null ? b.min : b.min === null ? a.min : Math.min(a.min, b.min),
    max: a.max === null ? b.max : b.max === null ? a.max : Math.max(a.max, b.max),
  };
}

function gaugeMerge(policy: GaugePolicy, cur: SnapPoint, next: SnapPoint): number {
  const a = cur.value as number;
  const b = next.value as number;
  switch (policy) {
    case 'sum':
      return a + b;
    case 'min':
      return Math.min(a, b);
    case 'max':
      return Math.max(a, b);
    default:
      // last (and pid, where two points meet only if one process sent the same series twice)
      return next.time >= cur.time ? b : a;
  }
}

export interface FoldOptions {
  readonly policy: (metric: string) => GaugePolicy;
  /** Called once per metric whose contributors disagree on its kind or its buckets. */
  readonly conflict?: (metric: string, why: string) => void;
  /** Retired contributors keep only what never goes backwards: counters and histograms. */
  readonly monotonicOnly?: boolean;
}

/** Adds one contributor's snapshot into `into`. */
export function fold(into: Folded, snap: Snapshot, o: FoldOptions): void {
  for (const sc of snap.scopes) {
    const sk = `${sc.name}\u0000${sc.version ?? ''}\u0000${sc.schemaUrl ?? ''}`;
    let fs = into.get(sk);
    for (const m of sc.metrics) {
      if (o.monotonicOnly === true && m.kind !== 'counter' && m.kind !== 'histogram' && m.kind !== 'summary') continue;
      if (fs === undefined) {
        fs = { scope: { name: sc.name, ...(sc.version !== undefined ? { version: sc.version } : {}), ...(sc.schemaUrl !== undefined ? { schemaUrl: sc.schemaUrl } : {}) }, metrics: new Map() };
        into.set(sk, fs);
      }
      let fm = fs.metrics.get(m.name);
      if (fm === undefined) {
        fm = { meta: { name: m.name, description: m.description, unit: m.unit, kind: m.kind, int: m.int, ...(m.policy ? { policy: m.policy } : {}), ...(m.percentiles ? { percentiles: m.percentiles } : {}), ...(m.hidden ? { hidden: true } : {}) }, points: new Map() };
        fs.metrics.set(m.name, fm);
      } else if (fm.meta.kind !== m.kind) {
        o.conflict?.(m.name, `one contributor records it as a ${fm.meta.kind}, another as a ${m.kind}`);
        continue;
      }
      const policy = m.kind === 'gauge' ? (m.policy ?? o.policy(m.name)) : undefined;
      for (const p of m.points) {
        const attrs = policy === 'pid' ? withSource(p.attrs, snap) : p.attrs;
        const key = attrs === p.attrs && p.k !== undefined ? p.k : attrKey(attrs);
        const cur = fm.points.get(key);
        if (cur === undefined) {
          fm.points.set(key, { attrs, start: p.start, time: p.time, value: copyValue(p.value), ...(p.exemplar ? { exemplar: p.exemplar } : {}) });
          continue;
        }
        const value = policy !== undefined ? gaugeMerge(policy, cur, p) : add(cur.value, p.value);
        if (value === undefined) {
          o.conflict?.(m.name, 'its contributors use different histogram buckets');
          continue;
        }
        const exemplar = cur.exemplar === undefined || (p.exemplar !== undefined && p.exemplar.time > cur.exemplar.time) ? p.exemplar : cur.exemplar;
        fm.points.set(key, { attrs: cur.attrs, start: Math.min(cur.start, p.start), time: Math.max(cur.time, p.time), value, ...(exemplar ? { exemplar } : {}) });
      }
    }
  }
}

/** The contributor's process.pid (and thread.id for a worker thread), unless a nearer one already set them. */
function withSource(a: Attributes, snap: Snapshot): Attributes {
  if (a['process.pid'] !== undefined && (snap.thread === undefined || a['thread.id'] !== undefined)) return a;
  const out: Attributes = { ...a };
  if (out['process.pid'] === undefined) out['process.pid'] = snap.pid;
  if (snap.thread !== undefined && out['thread.id'] === undefined) out['thread.id'] = snap.thread;
  return out;
}

/** A folded state back in the plain shape, to be sent on (a cluster worker to its primary). */
export function toSnapshotOf(folded: Folded, source: { source: string; pid: number }): Snapshot {
  return {
    ...source,
    scopes: [...folded.values()].map((fs) => ({ ...fs.scope, metrics: [...fs.metrics.values()].map((fm) => ({ ...fm.meta, points: [...fm.points].map(([k, p]) => ({ ...p, k })) })) })),
  };
}

const INSTRUMENT: Record<Kind, `${InstrumentType}`> = { counter: 'COUNTER', updown: 'UP_DOWN_COUNTER', gauge: 'GAUGE', histogram: 'HISTOGRAM', summary: 'HISTOGRAM' };

/**
 * Per reader: the previous cumulative values, so a reader that prefers delta temporality gets
 * differences. Contributors only ever add, and retired ones are kept, so a delta is never negative
 * for a counter.
 */
export class DeltaState {
  private readonly prev = new Map<string, { time: number; value: Value }>();

  delta(key: string, p: SnapPoint): SnapPoint {
    const before = this.prev.get(key);
    this.prev.set(key, { time: p.time, value: copyValue(p.value) });
    if (before === undefined) return p;
    const start = before.time;
    if (typeof p.value === 'number') return { ...p, start, value: p.value - (before.value as number) };
    if (isSummary(p.value)) return p;
    const b = before.value as HistValue;
    if (!sameBounds(b.bounds, p.value.bounds)) return p;
    return { ...p, start, value: { bounds: p.value.bounds, counts: p.value.counts.map((c, i) => c - (b.counts[i] ?? 0)), sum: p.value.sum - b.sum, min: null, max: null } };
  }
}

/**
 * The folded state as the SDK's ScopeMetrics, labelled with each instrument kind's temporality for
 * this reader; with `deltas`, cumulative values are converted where that temporality is delta.
 */
export function toScopeMetrics(folded: Folded, temporality: (t: InstrumentType) => AggregationTemporality, deltas?: DeltaState): ScopeMetrics[] {
  const out: ScopeMetrics[] = [];
  for (const [sk, fs] of folded) {
    const metrics: MetricData[] = [];
    for (const fm of fs.metrics.values()) {
      const m = fm.meta;
      // The SDK has no summary type; summaries are served by the Prometheus drop-in's own exposition.
      if (m.kind === 'summary') continue;
      const t = temporality(INSTRUMENT[m.kind] as InstrumentType);
      // AggregationTemporality.DELTA is 0; gauges have no temporality to convert.
      const isDelta = deltas !== undefined && (t as number) === 0 && m.kind !== 'gauge';
      const points = [...fm.points].map(([k, p]) => (isDelta && deltas !== undefined ? deltas.delta(`${sk}\u0000${m.name}\u0000${k}`, p) : p));
      const descriptor = { name: m.name, description: m.description, unit: m.unit, valueType: m.int ? 0 : 1 };
      const common = { descriptor, aggregationTemporality: t };
      if (m.kind === 'histogram') {
        metrics.push({
          ...common,
          dataPointType: 0,
          dataPoints: points.map((p) => {
            const h = p.value as HistValue;
            return {
              attributes: p.attrs,
              startTime: msToHr(p.start),
              endTime: msToHr(p.time),
              value: { buckets: { boundaries: h.bounds, counts: h.counts }, sum: h.sum, count: h.counts.reduce((a, b) => a + b, 0), ...(h.min !== null ? { min: h.min } : {}), ...(h.max !== null ? { max: h.max } : {}) },
            };
          }),
        });
      } else {
        const dataPoints = points.map((p) => ({ attributes: p.attrs, startTime: msToHr(p.start), endTime: msToHr(p.time), value: p.value as number }));
        if (m.kind === 'gauge') metrics.push({ ...common, dataPointType: 2, dataPoints });
        else metrics.push({ ...common, dataPointType: 3, isMonotonic: m.kind === 'counter', dataPoints });
      }
    }
    out.push({ scope: fs.scope, metrics });
  }
  return out;
}
