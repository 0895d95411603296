import type { Attributes, HrTime } from '@opentelemetry/api';
import { groupSpans } from './group';
import { type EventLike, type LinkLike, type ScopeLike, type SpanLike, spanFlags } from './types';

const str = JSON.stringify as (s: string) => string;

/** A number as JSON.stringify writes it (non-finite numbers become null). */
const num = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');

/** Nanoseconds since the epoch as a decimal string, as upstream's JSON encoder writes them (BigInt, truncated parts). */
function nanos(t: HrTime): string {
  const s = t[0];
  const n = t[1];
  if (Number.isSafeInteger(s) && s > 0 && Number.isInteger(n) && n >= 0 && n < 1e9) {
    const digits = String(n);
    return String(s) + '000000000'.slice(digits.length) + digits;
  }
  return (BigInt(Math.trunc(s)) * 1_000_000_000n + BigInt(Math.trunc(n))).toString();
}

/** An AnyValue, by upstream's JSON rule (common/internal toAnyValue): every integer is intValue there, even past int64. */
function anyValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `{"stringValue":${str(value)}}`;
    case 'number':
      return Number.isInteger(value) ? `{"intValue":${num(value)}}` : `{"doubleValue":${num(value)}}`;
    case 'boolean':
      return value ? '{"boolValue":true}' : '{"boolValue":false}';
    case 'object':
      if (value === null) return '{}';
      if (value instanceof Uint8Array) return `{"bytesValue":"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}"}`;
      if (Array.isArray(value)) {
        let out = '{"arrayValue":{"values":[';
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + anyValue(value[i]);
        return out + ']}}';
      }
      return `{"kvlistValue":{"values":${attributes(value as Record<string, unknown>)}}}`;
    default:
      return '{}';
  }
}

function attributes(attrs: Attributes | Record<string, unknown>): string {
  let out = '[';
  let first = true;
  for (const key in attrs) {
    if (!Object.prototype.hasOwnProperty.call(attrs, key)) continue;
    out += `${first ? '' : ','}{"key":${str(key)},"value":${anyValue((attrs as Record<string, unknown>)[key])}}`;
    first = false;
  }
  return out + ']';
}

/** A property JSON.stringify would write: undefined ones are left out. */
const opt = (name: string, value: string | undefined): string => (value === undefined ? '' : `,"${name}":${str(value)}`);

function scopeJson(scope: ScopeLike): string {
  let out = `{"name":${str(scope.name)}${opt('version', scope.version)}`;
  if (scope.attributes && Object.keys(scope.attributes).length > 0) out += `,"attributes":${attributes(scope.attributes)},"droppedAttributesCount":${num(scope.droppedAttributesCount ?? 0)}`;
  return out + '}';
}

function eventJson(e: EventLike): string {
  return `{"attributes":${e.attributes ? attributes(e.attributes) : '[]'},"name":${str(e.name)},"timeUnixNano":"${nanos(e.time)}","droppedAttributesCount":${num(e.droppedAttributesCount || 0)}}`;
}

function linkJson(l: LinkLike): string {
  const c = l.context;
  return `{"attributes":${l.attributes ? attributes(l.attributes) : '[]'},"spanId":${str(c.spanId)},"traceId":${str(c.traceId)}${opt('traceState', c.traceState?.serialize())},"droppedAttributesCount":${num(l.droppedAttributesCount || 0)},"flags":${spanFlags(c.traceFlags, c.isRemote)}}`;
}

/** One span, keys in upstream's order (JsonTraceSerializer 0.300's object, stringified). */
function spanJson(span: SpanLike): string {
  const ctx = span.spanContext();
  const parent = span.parentSpanContext;
  let out = `{"traceId":${str(ctx.traceId)},"spanId":${str(ctx.spanId)}`;
  if (parent?.spanId) out += `,"parentSpanId":${str(parent.spanId)}`;
  out += opt('traceState', ctx.traceState?.serialize());
  out += `,"name":${str(span.name)},"kind":${span.kind == null ? 0 : span.kind + 1}`;
  out += `,"startTimeUnixNano":"${nanos(span.startTime)}","endTimeUnixNano":"${nanos(span.endTime)}"`;
  out += `,"attributes":${attributes(span.attributes)},"droppedAttributesCount":${num(span.droppedAttributesCount)},"events":[`;
  const events = span.events;
  for (let i = 0; i < events.length; i++) out += (i === 0 ? '' : ',') + eventJson(events[i]!);
  out += `],"droppedEventsCount":${num(span.droppedEventsCount)},"status":{"code":${num(span.status.code)}${opt('message', span.status.message)}},"links":[`;
  const links = span.links;
  for (let i = 0; i < links.length; i++) out += (i === 0 ? '' : ',') + linkJson(links[i]!);
  return out + `],"droppedLinksCount":${num(span.droppedLinksCount)},"flags":${spanFlags(ctx.traceFlags, parent?.isRemote)}}`;
}

/**
 * An OTLP/JSON ExportTraceServiceRequest, as the text upstream's JsonTraceSerializer (0.300)
 * writes (hex ids, nanoseconds as decimal strings, its key order), built as one string instead
 * of an object tree then JSON.stringify.
 */
export function encodeTraceJson(spans: readonly SpanLike[]): Buffer {
  let out = '{"resourceSpans":[';
  const groups = groupSpans(spans);
  for (let r = 0; r < groups.length; r++) {
    const { resource, scopes } = groups[r]!;
    const schemaUrl = resource.schemaUrl ? resource.schemaUrl : undefined;
    out += `${r === 0 ? '' : ','}{"resource":{"attributes":${attributes(resource.attributes)},"droppedAttributesCount":0${opt('schemaUrl', schemaUrl)}},"scopeSpans":[`;
    for (let s = 0; s < scopes.length; s++) {
      const { scope, spans: list } = scopes[s]!;
      out += `${s === 0 ? '' : ','}{"scope":${scopeJson(scope)},"spans":[`;
      for (let i = 0; i < list.length; i++) out += (i === 0 ? '' : ',') + spanJson(list[i]!);
      out += `]${opt('schemaUrl', scope.schemaUrl)}}`;
    }
    out += `]${opt('schemaUrl', schemaUrl)}}`;
  }
  return Buffer.from(out + ']}', 'utf8');
}
