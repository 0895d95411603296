// The viewer's memory: a ring of traces bounded by count and by (estimated) bytes, the latest
// points of each metric series, a ring of log records. Oldest first out.
import type { Attributes, LogRecord, MetricPoints, Point, Span, Value } from './model';

export interface StoreLimits {
  readonly maxTraces: number;
  readonly maxBytes: number;
}

export const DEFAULT_LIMITS: StoreLimits = { maxTraces: 1000, maxBytes: 64 * 1024 * 1024 };

/** Spans kept per trace: a runaway trace is cut here rather than taking the whole byte budget. */
const MAX_SPANS_PER_TRACE = 5000;
const POINTS_PER_SERIES = 120;
const MAX_SERIES = 5000;

interface TraceEntry {
  readonly traceId: string;
  readonly spans: Span[];
  bytes: number;
}

export interface TraceSummary {
  readonly traceId: string;
  readonly service: string;
  readonly rootName: string;
  /** The root's route or URL path, when its name does not say it (an HTTP client span is just "GET"). */
  readonly rootPath: string;
  readonly startMs: number;
  readonly durationMs: number;
  readonly spanCount: number;
  readonly error: boolean;
  readonly services: string[];
}

export interface TraceFilter {
  readonly service?: string;
  readonly name?: string;
  /** error: a span of the trace has status ERROR; ok: none has. */
  readonly status?: string;
  readonly minDurationMs?: number;
  readonly limit?: number;
}

interface Series {
  readonly attributes: Attributes;
  readonly points: Point[];
}

interface MetricEntry {
  readonly service: string;
  readonly name: string;
  description: string;
  unit: string;
  type: string;
  monotonic: boolean;
  readonly series: Map<string, Series>;
}

/** A rough size of what a value holds in memory: string lengths plus a fixed cost per node. */
export function sizeOf(v: Value | Attributes | object | undefined): number {
  if (v === null || v === undefined) return 8;
  if (typeof v === 'string') return 16 + v.length * 2;
  if (typeof v !== 'object') return 8;
  let n = 32;
  if (Array.isArray(v)) for (const x of v) n += sizeOf(x as Value);
  else for (const [k, x] of Object.entries(v)) n += 16 + k.length * 2 + sizeOf(x as Value);
  return n;
}

export class Store {
  private readonly traces = new Map<string, TraceEntry>();
  private readonly metrics = new Map<string, MetricEntry>();
  private readonly logs: LogRecord[] = [];
  private bytes = 0;
  private seriesCount = 0;
  /** Bumped on every change: the page's live updates say "something new" with it. */
  version = 0;
  dropped = { traces: 0, spans: 0, series: 0, logs: 0 };

  constructor(readonly limits: StoreLimits = DEFAULT_LIMITS) {}

  addSpans(spans: Span[]): void {
    for (const s of spans) {
      let t = this.traces.get(s.traceId);
      if (t === undefined) {
        t = { traceId: s.traceId, spans: [], bytes: 0 };
        this.traces.set(s.traceId, t);
      }
      if (t.spans.length >= MAX_SPANS_PER_TRACE) {
        this.dropped.spans++;
        continue;
      }
      const b = sizeOf(s);
      t.spans.push(s);
      t.bytes += b;
      this.bytes += b;
    }
    this.evict();
    this.version++;
  }

  private evict(): void {
    // Map iteration is insertion order: the first entry is the trace seen first.
    for (const [id, t] of this.traces) {
      if (this.traces.size <= this.limits.maxTraces && this.bytes <= this.limits.maxBytes) break;
      this.traces.delete(id);
      this.bytes -= t.bytes;
      this.dropped.traces++;
    }
  }

  get usage(): { traces: number; bytes: number; logs: number; series: number } {
    return { traces: this.traces.size, bytes: this.bytes, logs: this.logs.length, series: this.seriesCount };
  }

  listTraces(filter: TraceFilter = {}): TraceSummary[] {
    const out: TraceSummary[] = [];
    const limit = filter.limit ?? this.limits.maxTraces;
    const all = [...this.traces.values()];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
      const s = summarize(all[i]!);
      if (matches(s, all[i]!.spans, filter)) out.push(s);
    }
    // Newest first by start time; arrival order breaks ties and keeps the sort stable.
    return out.sort((a, b) => b.startMs - a.startMs);
  }

  /** Every service that sent a span of a trace still kept. */
  services(): string[] {
    const out = new Set<string>();
    for (const t of this.traces.values()) for (const s of t.spans) out.add(s.service);
    return [...out].sort();
  }

  trace(traceId: string): Span[] | undefined {
    const t = this.traces.get(traceId.toLowerCase());
    return t === undefined ? undefined : [...t.spans].sort((a, b) => a.startMs - b.startMs);
  }

  addMetrics(list: MetricPoints[]): void {
    for (const m of list) {
      const key = `${m.service}\u0000${m.name}`;
      let e = this.metrics.get(key);
      if (e === undefined) {
        e = { service: m.service, name: m.name, description: m.description, unit: m.unit, type: m.type, monotonic: m.monotonic, series: new Map() };
        this.metrics.set(key, e);
      }
      Object.assign(e, { description: m.description || e.description, unit: m.unit || e.unit, type: m.type, monotonic: m.monotonic });
      for (const p of m.series) {
        const sk = JSON.stringify(p.attributes);
        let s = e.series.get(sk);
        if (s === undefined) {
          if (this.seriesCount >= MAX_SERIES) {
            this.dropped.series++;
            continue;
          }
          s = { attributes: p.attributes, points: [] };
          e.series.set(sk, s);
          this.seriesCount++;
        }
        s.points.push(p.point);
        if (s.points.length > POINTS_PER_SERIES) s.points.shift();
      }
    }
    this.version++;
  }

  listMetrics(): { service: string; name: string; description: string; unit: string; type: string; monotonic: boolean; series: Series[] }[] {
    return [...this.metrics.values()]
      .map((e) => ({ service: e.service, name: e.name, description: e.description, unit: e.unit, type: e.type, monotonic: e.monotonic, series: [...e.series.values()] }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.service.localeCompare(b.service));
  }

  addLogs(list: LogRecord[]): void {
    for (const l of list) {
      this.logs.push(l);
      // Logs share the trace cap's count: a flood of them stays as bounded as one of traces.
      if (this.logs.length > this.limits.maxTraces * 2) {
        this.logs.shift();
        this.dropped.logs++;
      }
    }
    this.version++;
  }

  listLogs(filter: { traceId?: string; service?: string; limit?: number } = {}): LogRecord[] {
    const out: LogRecord[] = [];
    for (let i = this.logs.length - 1; i >= 0 && out.length < (filter.limit ?? Infinity); i--) {
      const l = this.logs[i]!;
      if (filter.traceId && l.traceId !== filter.traceId) continue;
      if (filter.service && l.service !== filter.service) continue;
      out.push(l);
    }
    return out;
  }
}

function summarize(t: TraceEntry): TraceSummary {
  const ids = new Set(t.spans.map((s) => s.spanId));
  // The root: the span without a parent, else (parent not received yet) the earliest whose parent is missing.
  const roots = t.spans.filter((s) => s.parentSpanId === '' || !ids.has(s.parentSpanId));
  const root = roots.find((s) => s.parentSpanId === '') ?? roots.sort((a, b) => a.startMs - b.startMs)[0] ?? t.spans[0]!;
  let start = Infinity;
  let end = -Infinity;
  for (const s of t.spans) {
    start = Math.min(start, s.startMs);
    end = Math.max(end, s.endMs);
  }
  return {
    traceId: t.traceId,
    service: root.service,
    rootName: root.name,
    rootPath: pathOf(root),
    startMs: start,
    durationMs: Math.max(0, end - start),
    spanCount: t.spans.length,
    error: t.spans.some((s) => s.status.code === 'error'),
    services: [...new Set(t.spans.map((s) => s.service))],
  };
}

function pathOf(s: Span): string {
  const a = s.attributes;
  const p = typeof a['http.route'] === 'string' ? a['http.route'] : typeof a['url.path'] === 'string' ? a['url.path'] : typeof a['url.full'] === 'string' ? urlPath(a['url.full']) : '';
  return s.name.includes(p) ? '' : p;
}

function urlPath(u: string): string {
  try {
    return new URL(u).pathname;
  } catch {
    return '';
  }
}

function matches(s: TraceSummary, spans: Span[], f: TraceFilter): boolean {
  if (f.service && !s.services.includes(f.service)) return false;
  const name = f.name?.toLowerCase();
  if (name && !s.rootPath.toLowerCase().includes(name) && !spans.some((x) => x.name.toLowerCase().includes(name))) return false;
  if (f.status === 'error' && !s.error) return false;
  if (f.status === 'ok' && s.error) return false;
  if (f.minDurationMs !== undefined && s.durationMs < f.minDurationMs) return false;
  return true;
}
