// Decodes OTLP/JSON export requests (the protobuf messages in proto3 JSON: camelCase names, hex ids,
// 64-bit integers as strings) into the same model.ts shapes as otlp-proto.ts.
import { type Attributes, clip, kindName, type LogRecord, type MetricPoints, type Span, statusName, type Value } from './model';

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** 64-bit integers: a decimal string, a number, or protobufjs' { low, high } longs. */
function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  if (v !== null && typeof v === 'object' && 'low' in v && 'high' in v) {
    const { low, high } = v as { low: number; high: number };
    return (high >>> 0) * 2 ** 32 + (low >>> 0);
  }
  return 0;
}

const nsToMs = (v: unknown): number => num(v) / 1e6;

/** Ids are hex in OTLP/JSON; base64 (protobuf's JSON mapping of bytes) is accepted too. */
function id(v: unknown): string {
  const s = text(v);
  if (s === '' || /^[0-9a-f]+$/i.test(s)) return s.toLowerCase();
  return Buffer.from(s, 'base64').toString('hex');
}

/** Enums come as numbers, or as their proto names (SPAN_KIND_SERVER, STATUS_CODE_ERROR). */
function enumOf(v: unknown, names: string[]): number {
  if (typeof v === 'number') return v;
  const i = names.findIndex((n) => n === v);
  return i < 0 ? 0 : i;
}

function anyValue(v: unknown): Value {
  const o = obj(v);
  if ('stringValue' in o) return clip(text(o.stringValue));
  if ('boolValue' in o) return o.boolValue === true;
  if ('intValue' in o) return num(o.intValue);
  if ('doubleValue' in o) return Number(o.doubleValue);
  if ('arrayValue' in o) return arr(obj(o.arrayValue).values).map(anyValue);
  if ('kvlistValue' in o) return attributes(obj(o.kvlistValue).values);
  if ('bytesValue' in o) return id(o.bytesValue);
  return null;
}

function attributes(list: unknown): Attributes {
  const out: Attributes = {};
  for (const kv of arr(list)) out[text(obj(kv).key)] = anyValue(obj(kv).value);
  return out;
}

const serviceOf = (r: Attributes): string => (typeof r['service.name'] === 'string' ? r['service.name'] : 'unknown_service');

function walk(body: Json, top: string, scopes: string, items: string, each: (item: Json, res: Attributes, scope: string) => void): void {
  for (const r of arr(body[top])) {
    const res = attributes(obj(obj(r).resource).attributes);
    for (const s of arr(obj(r)[scopes])) for (const it of arr(obj(s)[items])) each(obj(it), res, text(obj(obj(s).scope).name));
  }
}

const KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

export function decodeTracesJson(body: Json): Span[] {
  const out: Span[] = [];
  walk(body, 'resourceSpans', 'scopeSpans', 'spans', (s, res, scope) => {
    const st = obj(s.status);
    out.push({
      traceId: id(s.traceId),
      spanId: id(s.spanId),
      parentSpanId: id(s.parentSpanId),
      name: clip(text(s.name)),
      kind: kindName(enumOf(s.kind, KINDS)),
      startMs: nsToMs(s.startTimeUnixNano),
      endMs: nsToMs(s.endTimeUnixNano),
      attributes: attributes(s.attributes),
      events: arr(s.events).map((e) => ({ name: text(obj(e).name), timeMs: nsToMs(obj(e).timeUnixNano), attributes: attributes(obj(e).attributes) })),
      links: arr(s.links).map((l) => ({ traceId: id(obj(l).traceId), spanId: id(obj(l).spanId), attributes: attributes(obj(l).attributes) })),
      status: { code: statusName(enumOf(st.code, STATUS)), message: clip(text(st.message)) },
      service: serviceOf(res),
      scope,
      resource: res,
    });
  });
  return out;
}

export function decodeLogsJson(body: Json): LogRecord[] {
  const out: LogRecord[] = [];
  walk(body, 'resourceLogs', 'scopeLogs', 'logRecords', (l, res, scope) => {
    out.push({
      timeMs: nsToMs(l.timeUnixNano) || nsToMs(l.observedTimeUnixNano),
      severityNumber: typeof l.severityNumber === 'number' ? l.severityNumber : 0,
      severityText: text(l.severityText),
      body: anyValue(l.body),
      attributes: attributes(l.attributes),
      traceId: id(l.traceId),
      spanId: id(l.spanId),
      service: serviceOf(res),
      scope,
    });
  });
  return out;
}

const TYPES = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'];

export function decodeMetricsJson(body: Json): MetricPoints[] {
  const out: MetricPoints[] = [];
  walk(body, 'resourceMetrics', 'scopeMetrics', 'metrics', (m, res) => {
    const key = TYPES.find((t) => t in m);
    if (key === undefined) return;
    const data = obj(m[key]);
    const type = key === 'exponentialHistogram' ? 'exponential_histogram' : key;
    const series = arr(data.dataPoints).map((p0) => {
      const p = obj(p0);
      const timeMs = nsToMs(p.timeUnixNano);
      if (type === 'gauge' || type === 'sum') return { attributes: attributes(p.attributes), point: { timeMs, value: 'asInt' in p ? num(p.asInt) : Number(p.asDouble ?? 0) } };
      const count = num(p.count);
      const sum = p.sum === undefined ? undefined : Number(p.sum);
      const min = p.min === undefined ? undefined : Number(p.min);
      const max = p.max === undefined ? undefined : Number(p.max);
      return { attributes: attributes(p.attributes), point: { timeMs, value: count ? (sum ?? 0) / count : 0, count, sum, min, max } };
    });
    out.push({ service: serviceOf(res), name: text(m.name), description: clip(text(m.description)), unit: text(m.unit), type, monotonic: data.isMonotonic === true, series });
  });
  return out;
}
