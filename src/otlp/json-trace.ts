import type { Attributes, HrTime } from '@opentelemetry/api';
import { groupSpans, type ScopeGroup } from './group';
import { JsonWriter } from './json-writer';
import { type EventLike, type LinkLike, type ResourceLike, type ScopeLike, type SpanLike, spanFlags } from './types';

/** Nanoseconds since the epoch as a decimal string, as upstream's JSON encoder writes them (BigInt of the truncated parts). */
function nanos(w: JsonWriter, t: HrTime): void {
  const s = t[0];
  const n = t[1];
  if (Number.isSafeInteger(s) && s > 0 && Number.isInteger(n) && n >= 0 && n < 1e9) {
    const digits = String(n);
    w.raw(`"${s}${'000000000'.slice(digits.length)}${digits}"`);
  } else {
    w.raw(`"${(BigInt(Math.trunc(s)) * 1_000_000_000n + BigInt(Math.trunc(n))).toString()}"`);
  }
}

/** An AnyValue, by upstream's JSON rule (common/internal toAnyValue): every integer is intValue there, even past int64. */
function anyValue(w: JsonWriter, value: unknown): void {
  switch (typeof value) {
    case 'string':
      w.raw('{"stringValue":');
      w.str(value);
      w.raw('}');
      return;
    case 'number':
      w.raw(Number.isInteger(value) ? '{"intValue":' : '{"doubleValue":');
      w.num(value);
      w.raw('}');
      return;
    case 'boolean':
      w.raw(value ? '{"boolValue":true}' : '{"boolValue":false}');
      return;
    case 'object':
      if (value === null) break;
      if (value instanceof Uint8Array) {
        w.raw(`{"bytesValue":"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}"}`);
      } else if (Array.isArray(value)) {
        w.raw('{"arrayValue":{"values":[');
        for (let i = 0; i < value.length; i++) {
          if (i > 0) w.raw(',');
          anyValue(w, value[i]);
        }
        w.raw(']}}');
      } else {
        w.raw('{"kvlistValue":{"values":');
        attributes(w, value as Record<string, unknown>);
        w.raw('}}');
      }
      return;
  }
  w.raw('{}');
}

function attributes(w: JsonWriter, attrs: Attributes | Record<string, unknown>): void {
  w.raw('[');
  let first = true;
  for (const key in attrs) {
    if (!Object.prototype.hasOwnProperty.call(attrs, key)) continue;
    w.raw(first ? '{"key":' : ',{"key":');
    w.str(key);
    w.raw(',"value":');
    anyValue(w, (attrs as Record<string, unknown>)[key]);
    w.raw('}');
    first = false;
  }
  w.raw(']');
}

/** `,"name":"value"`, left out when undefined (as JSON.stringify leaves out undefined properties). */
function opt(w: JsonWriter, name: string, value: string | undefined): void {
  if (value === undefined) return;
  w.raw(`,"${name}":`);
  w.str(value);
}

function scopeJson(w: JsonWriter, scope: ScopeLike): void {
  w.raw('{"name":');
  w.str(scope.name);
  opt(w, 'version', scope.version);
  if (scope.attributes && Object.keys(scope.attributes).length > 0) {
    w.raw(',"attributes":');
    attributes(w, scope.attributes);
    w.raw(',"droppedAttributesCount":');
    w.num(scope.droppedAttributesCount ?? 0);
  }
  w.raw('}');
}

function eventJson(w: JsonWriter, e: EventLike): void {
  w.raw('{"attributes":');
  if (e.attributes) attributes(w, e.attributes);
  else w.raw('[]');
  w.raw(',"name":');
  w.str(e.name);
  w.raw(',"timeUnixNano":');
  nanos(w, e.time);
  w.raw(',"droppedAttributesCount":');
  w.num(e.droppedAttributesCount || 0);
  w.raw('}');
}

function linkJson(w: JsonWriter, l: LinkLike): void {
  const c = l.context;
  w.raw('{"attributes":');
  if (l.attributes) attributes(w, l.attributes);
  else w.raw('[]');
  w.raw(',"spanId":');
  w.str(c.spanId);
  w.raw(',"traceId":');
  w.str(c.traceId);
  opt(w, 'traceState', c.traceState?.serialize());
  w.raw(',"droppedAttributesCount":');
  w.num(l.droppedAttributesCount || 0);
  w.raw(`,"flags":${spanFlags(c.traceFlags, c.isRemote)}}`);
}

/** One span, keys in upstream's order (JsonTraceSerializer 0.300's object, stringified). */
export function spanJson(w: JsonWriter, span: SpanLike): void {
  const ctx = span.spanContext();
  const parent = span.parentSpanContext;
  w.raw('{"traceId":');
  w.str(ctx.traceId);
  w.raw(',"spanId":');
  w.str(ctx.spanId);
  if (parent?.spanId) opt(w, 'parentSpanId', parent.spanId);
  opt(w, 'traceState', ctx.traceState?.serialize());
  w.raw(',"name":');
  w.str(span.name);
  w.raw(`,"kind":${span.kind == null ? 0 : span.kind + 1},"startTimeUnixNano":`);
  nanos(w, span.startTime);
  w.raw(',"endTimeUnixNano":');
  nanos(w, span.endTime);
  w.raw(',"attributes":');
  attributes(w, span.attributes);
  w.raw(',"droppedAttributesCount":');
  w.num(span.droppedAttributesCount);
  w.raw(',"events":[');
  const events = span.events;
  for (let i = 0; i < events.length; i++) {
    if (i > 0) w.raw(',');
    eventJson(w, events[i]!);
  }
  w.raw('],"droppedEventsCount":');
  w.num(span.droppedEventsCount);
  w.raw(',"status":{"code":');
  w.num(span.status.code);
  opt(w, 'message', span.status.message);
  w.raw('},"links":[');
  const links = span.links;
  for (let i = 0; i < links.length; i++) {
    if (i > 0) w.raw(',');
    linkJson(w, links[i]!);
  }
  w.raw('],"droppedLinksCount":');
  w.num(span.droppedLinksCount);
  w.raw(`,"flags":${spanFlags(ctx.traceFlags, parent?.isRemote)}}`);
}

let shared: JsonWriter | undefined;
/** Above this the shared buffer is dropped after use, so one huge batch does not stay resident. */
const KEEP_BYTES = 4 * 1024 * 1024;

interface Framed<G> {
  readonly resource: ResourceLike;
  readonly scopes: readonly G[];
}

/** The request's text around the groups given; `body` writes each scope's spans, comma-separated. */
function writeRequest<G extends { readonly scope: ScopeLike }>(groups: readonly Framed<G>[], body: (w: JsonWriter, group: G) => void): Buffer {
  // Re-entered only if an attribute getter exported spans: that call gets its own writer.
  const w = shared ?? new JsonWriter();
  shared = undefined;
  w.pos = 0;
  try {
    w.raw('{"resourceSpans":[');
    for (let r = 0; r < groups.length; r++) {
      const { resource, scopes } = groups[r]!;
      const schemaUrl = resource.schemaUrl ? resource.schemaUrl : undefined;
      w.raw(r === 0 ? '{"resource":{"attributes":' : ',{"resource":{"attributes":');
      attributes(w, resource.attributes);
      w.raw(',"droppedAttributesCount":0');
      opt(w, 'schemaUrl', schemaUrl);
      w.raw('},"scopeSpans":[');
      for (let s = 0; s < scopes.length; s++) {
        const group = scopes[s]!;
        w.raw(s === 0 ? '{"scope":' : ',{"scope":');
        scopeJson(w, group.scope);
        w.raw(',"spans":[');
        body(w, group);
        w.raw(']');
        opt(w, 'schemaUrl', group.scope.schemaUrl);
        w.raw('}');
      }
      w.raw(']');
      opt(w, 'schemaUrl', schemaUrl);
      w.raw('}');
    }
    w.raw(']}');
    return w.finish();
  } finally {
    if (w.buf.length <= KEEP_BYTES) shared = w;
  }
}

const spansBody = (w: JsonWriter, group: ScopeGroup): void => {
  const list = group.spans;
  for (let i = 0; i < list.length; i++) {
    if (i > 0) w.raw(',');
    spanJson(w, list[i]!);
  }
};

/**
 * An OTLP/JSON ExportTraceServiceRequest, the same text upstream's JsonTraceSerializer (0.300)
 * writes (hex ids, nanoseconds as decimal strings, its key order), written as UTF-8 in one pass
 * instead of an object tree, JSON.stringify, then TextEncoder.
 */
export function encodeTraceJson(spans: readonly SpanLike[]): Buffer {
  return writeRequest(groupSpans(spans), spansBody);
}

/** A scope's spans as JSON text written earlier, comma-separated. */
export interface EncodedScope {
  readonly scope: ScopeLike;
  readonly bytes: Uint8Array;
}

const bytesBody = (w: JsonWriter, group: EncodedScope): void => w.put(group.bytes);

/** The request around span text written earlier, grouped as encodeTraceJson groups spans. */
export function encodeTraceJsonFrom(groups: readonly Framed<EncodedScope>[]): Buffer {
  return writeRequest(groups, bytesBody);
}
