import type { Attributes } from '@opentelemetry/api';
import type { FoldMetric, Folded } from '../multiprocess/fold';
import type { HistValue, SnapPoint } from '../multiprocess/snapshot';
import { quantile, type SummaryValue } from '../multiprocess/sketch';

/** The store's scope for every drop-in metric: rendered here, never by the OpenTelemetry serializer. */
export const DROP_IN_SCOPE = 'otel-autoinstrument/prometheus';
const SCOPE_KEY = `${DROP_IN_SCOPE}\u0000\u0000`;

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

export interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
  exemplar?: { labelSet: Record<string, string>; value: number; timestamp: number };
}

/** The drop-in metrics a folded view holds, by name. */
export function dropInMetrics(view: Folded): ReadonlyMap<string, FoldMetric> {
  return view.get(SCOPE_KEY)?.metrics ?? new Map();
}

/** Attributes as Prometheus labels: the pid policy's process.pid and thread.id become process_pid and thread_id. */
function labelsOf(a: Attributes): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(a)) if (typeof v === 'string' || typeof v === 'number') out[k.replace(/[^a-zA-Z0-9_]/g, '_')] = v;
  return out;
}

const TYPE: Record<string, MetricType> = { counter: 'counter', updown: 'gauge', gauge: 'gauge', histogram: 'histogram', summary: 'summary' };

export function typeOf(m: FoldMetric): MetricType {
  return TYPE[m.meta.kind] ?? 'gauge';
}

function exemplarOf(p: SnapPoint): MetricValue['exemplar'] | undefined {
  return p.exemplar ? { labelSet: { trace_id: p.exemplar.trace, span_id: p.exemplar.span }, value: p.exemplar.value, timestamp: p.exemplar.time / 1000 } : undefined;
}

/** One metric's samples in prom-client's get() shape. */
export function valuesOf(m: FoldMetric): MetricValue[] {
  const name = m.meta.name;
  const out: MetricValue[] = [];
  for (const p of m.points.values()) {
    const labels = labelsOf(p.attrs);
    if (m.meta.kind === 'histogram') {
      const h = p.value as HistValue;
      const ex = exemplarOf(p);
      const exBucket = ex ? h.bounds.findIndex((b) => ex.value <= b) : -2;
      let acc = 0;
      h.bounds.forEach((b, i) => {
        acc += h.counts[i] ?? 0;
        out.push({ labels: { le: b, ...labels }, value: acc, metricName: `${name}_bucket`, ...(ex && exBucket === i ? { exemplar: ex } : {}) });
      });
      const count = h.counts.reduce((a, b) => a + b, 0);
      out.push({ labels: { le: '+Inf', ...labels }, value: count, metricName: `${name}_bucket`, ...(ex && exBucket === -1 ? { exemplar: ex } : {}) });
      out.push({ labels, value: h.sum, metricName: `${name}_sum` }, { labels, value: count, metricName: `${name}_count` });
    } else if (m.meta.kind === 'summary') {
      const s = p.value as SummaryValue;
      for (const q of m.meta.percentiles ?? []) out.push({ labels: { quantile: q, ...labels }, value: quantile(s, q) });
      out.push({ labels, value: s.sum, metricName: `${name}_sum` }, { labels, value: s.count, metricName: `${name}_count` });
    } else {
      const ex = exemplarOf(p);
      out.push({ labels, value: p.value as number, ...(ex ? { exemplar: ex } : {}) });
    }
  }
  return out;
}

const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (v: string | number): string => (typeof v === 'string' ? escapeHelp(v).replace(/"/g, '\\"') : String(v));

export function valueText(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (!Number.isFinite(v)) return v < 0 ? '-Inf' : '+Inf';
  return `${v}`;
}

export interface RenderOptions {
  readonly openMetrics: boolean;
  readonly defaultLabels: Readonly<Record<string, string | number>>;
}

/** One metric family in the text format (0.0.4), or in OpenMetrics with exemplars. */
export function renderFamily(name: string, help: string, type: MetricType, values: readonly MetricValue[], o: RenderOptions): string {
  const family = o.openMetrics && type === 'counter' ? name.replace(/_total$/, '') : name;
  const lines = [`# HELP ${family} ${escapeHelp(help)}`, `# TYPE ${family} ${type}`];
  const hasDefaults = Object.keys(o.defaultLabels).length > 0;
  for (const v of values) {
    let sample = v.metricName ?? name;
    if (o.openMetrics && type === 'counter') sample = `${family}_total`;
    const labels = hasDefaults ? { ...o.defaultLabels, ...v.labels } : v.labels;
    const parts = Object.entries(labels).map(([k, x]) => `${k}="${escapeLabel(x)}"`);
    let line = `${sample}${parts.length > 0 ? `{${parts.join(',')}}` : ''} ${valueText(v.value)}`;
    if (o.openMetrics && v.exemplar) {
      const ex = Object.entries(v.exemplar.labelSet).map(([k, x]) => `${k}="${escapeLabel(x)}"`);
      line += ` # {${ex.join(',')}} ${valueText(v.exemplar.value)} ${v.exemplar.timestamp}`;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

/** Every drop-in metric of a view, for the Prometheus endpoint (text format 0.0.4). */
export function renderAll(view: Folded): string {
  const out: string[] = [];
  for (const m of dropInMetrics(view).values()) out.push(renderFamily(m.meta.name, m.meta.description, typeOf(m), valuesOf(m), { openMetrics: false, defaultLabels: {} }));
  return out.length > 0 ? `${out.join('\n\n')}\n` : '';
}
