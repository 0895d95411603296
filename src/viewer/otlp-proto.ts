// Decodes the OTLP export requests (opentelemetry-proto collector/*/v1) from protobuf into model.ts shapes.
import { type Attributes, clip, kindName, type LogRecord, type MetricPoints, nsToMs, type Span, type SpanEvent, type SpanLink, statusName, type Value } from './model';
import { double, type Field, fields, fixed64, hex, int64, packed64, readF64, readU64, str, uint } from './wire';

function anyValue(buf: Uint8Array): Value {
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1:
        return clip(str(f));
      case 2:
        return uint(f) !== 0;
      case 3:
        return int64(f);
      case 4:
        return double(f);
      case 5: {
        const out: Value[] = [];
        if (f.type === 2) for (const v of fields(f.bytes)) if (v.no === 1 && v.type === 2) out.push(anyValue(v.bytes));
        return out;
      }
      case 6:
        return f.type === 2 ? keyValues([...fields(f.bytes)].filter((v) => v.no === 1)) : {};
      case 7:
        return hex(f);
    }
  }
  return null;
}

function keyValue(f: Field, into: Attributes): void {
  if (f.type !== 2) return;
  let key = '';
  let value: Value = null;
  for (const g of fields(f.bytes)) {
    if (g.no === 1) key = str(g);
    else if (g.no === 2 && g.type === 2) value = anyValue(g.bytes);
  }
  into[key] = value;
}

function keyValues(list: Field[]): Attributes {
  const out: Attributes = {};
  for (const f of list) keyValue(f, out);
  return out;
}

/** A Resource or an InstrumentationScope: attributes at field 1 (resource) or 3 (scope). */
function resource(f: Field): Attributes {
  const out: Attributes = {};
  if (f.type === 2) for (const g of fields(f.bytes)) if (g.no === 1) keyValue(g, out);
  return out;
}

function scopeName(f: Field): string {
  if (f.type === 2) for (const g of fields(f.bytes)) if (g.no === 1) return str(g);
  return '';
}

const serviceOf = (r: Attributes): string => (typeof r['service.name'] === 'string' ? r['service.name'] : 'unknown_service');

/** Walks Resource* / Scope* / item layers common to the three signals. */
function walk(buf: Uint8Array, itemField: number, each: (item: Uint8Array, res: Attributes, scope: string) => void): void {
  for (const rf of fields(buf)) {
    if (rf.no !== 1 || rf.type !== 2) continue;
    let res: Attributes = {};
    const scopes: Uint8Array[] = [];
    for (const f of fields(rf.bytes)) {
      if (f.no === 1) res = resource(f);
      else if (f.no === 2 && f.type === 2) scopes.push(f.bytes);
    }
    for (const s of scopes) {
      let scope = '';
      const items: Uint8Array[] = [];
      for (const f of fields(s)) {
        if (f.no === 1) scope = scopeName(f);
        else if (f.no === itemField && f.type === 2) items.push(f.bytes);
      }
      for (const it of items) each(it, res, scope);
    }
  }
}

function event(buf: Uint8Array): SpanEvent {
  let name = '';
  let timeMs = 0;
  const attributes: Attributes = {};
  for (const f of fields(buf)) {
    if (f.no === 1) timeMs = nsToMs(fixed64(f));
    else if (f.no === 2) name = str(f);
    else if (f.no === 3) keyValue(f, attributes);
  }
  return { name, timeMs, attributes };
}

function link(buf: Uint8Array): SpanLink {
  let traceId = '';
  let spanId = '';
  const attributes: Attributes = {};
  for (const f of fields(buf)) {
    if (f.no === 1) traceId = hex(f);
    else if (f.no === 2) spanId = hex(f);
    else if (f.no === 4) keyValue(f, attributes);
  }
  return { traceId, spanId, attributes };
}

export function decodeTraces(buf: Uint8Array): Span[] {
  const out: Span[] = [];
  walk(buf, 2, (b, res, scope) => {
    const s = { traceId: '', spanId: '', parentSpanId: '', name: '', kind: 'unspecified', startMs: 0, endMs: 0 };
    const attributes: Attributes = {};
    const events: SpanEvent[] = [];
    const links: SpanLink[] = [];
    const status = { code: 'unset', message: '' };
    for (const f of fields(b)) {
      switch (f.no) {
        case 1: s.traceId = hex(f); break;
        case 2: s.spanId = hex(f); break;
        case 4: s.parentSpanId = hex(f); break;
        case 5: s.name = clip(str(f)); break;
        case 6: s.kind = kindName(uint(f)); break;
        case 7: s.startMs = nsToMs(fixed64(f)); break;
        case 8: s.endMs = nsToMs(fixed64(f)); break;
        case 9: keyValue(f, attributes); break;
        case 11: if (f.type === 2) events.push(event(f.bytes)); break;
        case 13: if (f.type === 2) links.push(link(f.bytes)); break;
        case 15:
          if (f.type === 2)
            for (const g of fields(f.bytes)) {
              if (g.no === 2) status.message = clip(str(g));
              else if (g.no === 3) status.code = statusName(uint(g));
            }
          break;
      }
    }
    out.push({ ...s, attributes, events, links, status, service: serviceOf(res), scope, resource: res });
  });
  return out;
}

export function decodeLogs(buf: Uint8Array): LogRecord[] {
  const out: LogRecord[] = [];
  walk(buf, 2, (b, res, scope) => {
    let timeMs = 0;
    let observedMs = 0;
    let severityNumber = 0;
    let severityText = '';
    let body: Value = null;
    let traceId = '';
    let spanId = '';
    const attributes: Attributes = {};
    for (const f of fields(b)) {
      switch (f.no) {
        case 1: timeMs = nsToMs(fixed64(f)); break;
        case 11: observedMs = nsToMs(fixed64(f)); break;
        case 2: severityNumber = uint(f); break;
        case 3: severityText = str(f); break;
        case 5: if (f.type === 2) body = anyValue(f.bytes); break;
        case 6: keyValue(f, attributes); break;
        case 9: traceId = hex(f); break;
        case 10: spanId = hex(f); break;
      }
    }
    out.push({ timeMs: timeMs || observedMs, severityNumber, severityText, body, attributes, traceId, spanId, service: serviceOf(res), scope });
  });
  return out;
}

const TYPES: Record<number, string> = { 5: 'gauge', 7: 'sum', 9: 'histogram', 10: 'exponential_histogram', 11: 'summary' };

/** One data point: attributes at 7 (number, summary), 9 (histogram) or 1 (exponential histogram). */
function point(buf: Uint8Array, type: string): MetricPoints['series'][number] {
  const attrNo = type === 'histogram' ? 9 : type === 'exponential_histogram' ? 1 : 7;
  const attributes: Attributes = {};
  let timeMs = 0;
  let value = 0;
  let count: number | undefined;
  let sum: number | undefined;
  let min: number | undefined;
  let max: number | undefined;
  const number = type === 'gauge' || type === 'sum';
  for (const f of fields(buf)) {
    if (f.no === attrNo) keyValue(f, attributes);
    else if (f.no === 3) timeMs = nsToMs(fixed64(f));
    else if (number && f.no === 4) value = double(f);
    else if (number && f.no === 6) value = fixed64(f, true);
    else if (!number && f.no === 4) count = fixed64(f);
    else if (!number && f.no === 5) sum = double(f);
    else if (type === 'histogram' && f.no === 11) min = double(f);
    else if (type === 'histogram' && f.no === 12) max = double(f);
    else if (type === 'exponential_histogram' && f.no === 12) min = double(f);
    else if (type === 'exponential_histogram' && f.no === 13) max = double(f);
    else if (type === 'histogram' && (f.no === 6 || f.no === 7)) packed64(f, f.no === 6 ? readU64 : readF64); // validated, not kept
  }
  if (!number) value = count ? (sum ?? 0) / count : 0;
  return { attributes, point: { timeMs, value, count, sum, min, max } };
}

export function decodeMetrics(buf: Uint8Array): MetricPoints[] {
  const out: MetricPoints[] = [];
  walk(buf, 2, (b, res, _scope) => {
    let name = '';
    let description = '';
    let unit = '';
    let type = '';
    let monotonic = false;
    const raw: Uint8Array[] = [];
    for (const f of fields(b)) {
      if (f.no === 1) name = str(f);
      else if (f.no === 2) description = clip(str(f));
      else if (f.no === 3) unit = str(f);
      else if (TYPES[f.no] && f.type === 2) {
        type = TYPES[f.no]!;
        for (const g of fields(f.bytes)) {
          if (g.no === 1 && g.type === 2) raw.push(g.bytes);
          else if (f.no === 7 && g.no === 3) monotonic = uint(g) !== 0;
        }
      }
    }
    if (type === '') return;
    out.push({ service: serviceOf(res), name, description, unit, type, monotonic, series: raw.map((p) => point(p, type)) });
  });
  return out;
}

