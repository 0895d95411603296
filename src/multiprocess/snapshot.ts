import type { Attributes, HrTime } from '@opentelemetry/api';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { GaugePolicy } from './policy';
import type { SummaryValue } from './sketch';

/**
 * The one plain shape every contributor's metrics travel in: a worker thread's shard as the main
 * thread reads it, a cluster worker's cumulative collection sent over IPC, and the primary's own.
 * JSON-safe (IPC serializes as JSON), so no HrTime tuples and no Infinity.
 */
export type Kind = 'counter' | 'updown' | 'gauge' | 'histogram' | 'summary';

export interface HistValue {
  /** Explicit bucket upper bounds; counts has one more entry (the +Inf bucket). */
  bounds: number[];
  counts: number[];
  sum: number;
  min: number | null;
  max: number | null;
}

/** The last exemplar of a series: the trace and span (hex) a measurement was made in. */
export interface Exemplar {
  trace: string;
  span: string;
  value: number;
  /** Milliseconds since the epoch. */
  time: number;
}

export interface SnapPoint {
  attrs: Attributes;
  /** Milliseconds since the epoch: the start of the cumulative series, and when it was read. */
  start: number;
  time: number;
  value: number | HistValue | SummaryValue;
  exemplar?: Exemplar;
  /** attrKey(attrs), when the sender already knows it: the receiver's merge then skips the sort. */
  k?: string;
}

export interface SnapMetric {
  name: string;
  description: string;
  unit: string;
  kind: Kind;
  /** The instrument's value type was INT. */
  int: boolean;
  /** A gauge's own merge policy (the Prometheus drop-in's aggregator option), over the configured one. */
  policy?: GaugePolicy;
  /** A summary's quantiles to report (the Prometheus drop-in). */
  percentiles?: number[];
  /** A drop-in metric registered only in a registry of the app's own: not served on the endpoint. */
  hidden?: boolean;
  points: SnapPoint[];
}

export interface SnapScope {
  name: string;
  version?: string;
  schemaUrl?: string;
  metrics: SnapMetric[];
}

export interface Snapshot {
  /** Who contributed it: "<pid>" for a process, "<pid>/<threadId>" for a worker thread. */
  source: string;
  pid: number;
  thread?: number;
  scopes: SnapScope[];
}

export const hrToMs = (t: HrTime): number => t[0] * 1000 + t[1] / 1e6;

export function msToHr(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  const ns = Math.min(999_999_999, Math.max(0, Math.round((ms - s * 1000) * 1e6)));
  return [s, ns];
}

const finiteOrNull = (n: number | undefined): number | null => (n !== undefined && Number.isFinite(n) ? n : null);

/**
 * A cumulative collection in the plain shape. Exponential histograms do not merge across
 * contributors with different scales; they are left out and named in `skipped`.
 */
export function toSnapshot(rm: ResourceMetrics, source: { source: string; pid: number; thread?: number }, skipped?: (name: string) => void): Snapshot {
  const scopes: SnapScope[] = [];
  for (const sm of rm.scopeMetrics) {
    const metrics: SnapMetric[] = [];
    for (const m of sm.metrics) {
      const base = { name: m.descriptor.name, description: m.descriptor.description, unit: m.descriptor.unit, int: m.descriptor.valueType === 0 };
      // DataPointType: HISTOGRAM 0, EXPONENTIAL_HISTOGRAM 1, GAUGE 2, SUM 3.
      if (m.dataPointType === 3) {
        metrics.push({ ...base, kind: m.isMonotonic ? 'counter' : 'updown', points: m.dataPoints.map((p) => ({ attrs: p.attributes, start: hrToMs(p.startTime), time: hrToMs(p.endTime), value: p.value })) });
      } else if (m.dataPointType === 2) {
        metrics.push({ ...base, kind: 'gauge', points: m.dataPoints.map((p) => ({ attrs: p.attributes, start: hrToMs(p.startTime), time: hrToMs(p.endTime), value: p.value })) });
      } else if (m.dataPointType === 0) {
        metrics.push({
          ...base,
          kind: 'histogram',
          points: m.dataPoints.map((p) => ({
            attrs: p.attributes,
            start: hrToMs(p.startTime),
            time: hrToMs(p.endTime),
            value: { bounds: p.value.buckets.boundaries, counts: p.value.buckets.counts, sum: p.value.sum ?? 0, min: finiteOrNull(p.value.min), max: finiteOrNull(p.value.max) },
          })),
        });
      } else {
        skipped?.(m.descriptor.name);
      }
    }
    if (metrics.length > 0) scopes.push({ name: sm.scope.name, ...(sm.scope.version !== undefined ? { version: sm.scope.version } : {}), ...(sm.scope.schemaUrl !== undefined ? { schemaUrl: sm.scope.schemaUrl } : {}), metrics });
  }
  return { ...source, scopes };
}

/** Whether a message from IPC is a snapshot (a child's code or a plugin might send anything). */
export function isSnapshot(x: unknown): x is Snapshot {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as Partial<Snapshot>;
  return typeof s.source === 'string' && typeof s.pid === 'number' && Array.isArray(s.scopes);
}
