import type { Attributes } from '@opentelemetry/api';
import { groupSpans, type ScopeGroup } from './group';
import { ProtoWriter } from './proto-writer';
import { type EventLike, type LinkLike, type ResourceLike, type ScopeLike, type SpanLike, spanFlags } from './types';

// Tags, (field << 3) | wire type, from opentelemetry-proto's trace.proto and common.proto.
const LEN = 2;
const tag = (field: number, wire: number): number => (field << 3) | wire;

const MAX_INT64 = 2 ** 63;

/**
 * An AnyValue's fields, by upstream's rule (otlp-transformer 0.300 common-serializer): integers
 * in int64 range as intValue, other numbers as doubleValue, Uint8Array as bytesValue, arrays as
 * arrayValue, other objects as kvlistValue, anything else (null, undefined) as an empty value.
 */
function writeAnyValue(w: ProtoWriter, value: unknown): void {
  switch (typeof value) {
    case 'string':
      w.tagString(tag(1, LEN), value);
      return;
    case 'boolean':
      w.tagVarint(tag(2, 0), value ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(value) && value >= -MAX_INT64 && value < MAX_INT64) w.tagInt64(tag(3, 0), value);
      else w.tagDouble(tag(4, 1), value);
      return;
    case 'object':
      if (value === null) return;
      if (value instanceof Uint8Array) {
        w.tagBytes(tag(7, LEN), value);
      } else if (Array.isArray(value)) {
        const list = w.begin(tag(5, LEN), 1);
        for (let i = 0; i < value.length; i++) {
          const item = w.begin(tag(1, LEN), 1);
          writeAnyValue(w, value[i]);
          w.end(item, 1);
        }
        w.end(list, 1);
      } else {
        const list = w.begin(tag(6, LEN), 1);
        writeAttributes(w, value as Record<string, unknown>, tag(1, LEN));
        w.end(list, 1);
      }
  }
}

/** Repeated KeyValue under `kvTag`, in the object's own enumerable key order. */
function writeAttributes(w: ProtoWriter, attributes: Attributes | Record<string, unknown>, kvTag: number): void {
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
    const kv = w.begin(kvTag, 1);
    w.tagString(tag(1, LEN), key);
    const v = w.begin(tag(2, LEN), 1);
    writeAnyValue(w, (attributes as Record<string, unknown>)[key]);
    w.end(v, 1);
    w.end(kv, 1);
  }
}

function writeScope(w: ProtoWriter, scope: ScopeLike): void {
  const m = w.begin(tag(1, LEN), 1);
  w.tagString(tag(1, LEN), scope.name);
  if (scope.version) w.tagString(tag(2, LEN), scope.version);
  if (scope.attributes) writeAttributes(w, scope.attributes, tag(3, LEN));
  if (scope.droppedAttributesCount) w.tagVarint(tag(4, 0), scope.droppedAttributesCount);
  w.end(m, 1);
}

function writeEvent(w: ProtoWriter, e: EventLike): void {
  const m = w.begin(tag(11, LEN), 1);
  w.tagTime(tag(1, 1), e.time);
  w.tagString(tag(2, LEN), e.name);
  if (e.attributes) writeAttributes(w, e.attributes, tag(3, LEN));
  w.tagVarint(tag(4, 0), e.droppedAttributesCount || 0);
  w.end(m, 1);
}

function writeLink(w: ProtoWriter, l: LinkLike): void {
  const m = w.begin(tag(13, LEN), 1);
  const ctx = l.context;
  w.tagId(tag(1, LEN), ctx.traceId);
  w.tagId(tag(2, LEN), ctx.spanId);
  const ts = ctx.traceState?.serialize();
  if (ts) w.tagString(tag(3, LEN), ts);
  if (l.attributes) writeAttributes(w, l.attributes, tag(4, LEN));
  w.tagVarint(tag(5, 0), l.droppedAttributesCount || 0);
  w.tagFixed32(tag(6, 5), spanFlags(ctx.traceFlags, ctx.isRemote));
  w.end(m, 1);
}

/** One Span message, fields in upstream's order and presence (byte-identical output). */
export function writeSpan(w: ProtoWriter, span: SpanLike): void {
  // Most spans are 128 bytes to 16 KiB long: two bytes reserved for the length.
  const m = w.begin(tag(2, LEN), 2);
  const ctx = span.spanContext();
  w.tagId(tag(1, LEN), ctx.traceId);
  w.tagId(tag(2, LEN), ctx.spanId);
  const ts = ctx.traceState?.serialize();
  if (ts) w.tagString(tag(3, LEN), ts);
  const parent = span.parentSpanContext;
  if (parent?.spanId) w.tagId(tag(4, LEN), parent.spanId);
  w.tagString(tag(5, LEN), span.name);
  const kind = span.kind == null ? 0 : span.kind + 1;
  if (kind !== 0) w.tagVarint(tag(6, 0), kind);
  w.tagTime(tag(7, 1), span.startTime);
  w.tagTime(tag(8, 1), span.endTime);
  if (span.attributes) writeAttributes(w, span.attributes, tag(9, LEN));
  w.tagVarint(tag(10, 0), span.droppedAttributesCount);
  const events = span.events;
  for (let i = 0; i < events.length; i++) writeEvent(w, events[i]!);
  w.tagVarint(tag(12, 0), span.droppedEventsCount);
  const links = span.links;
  for (let i = 0; i < links.length; i++) writeLink(w, links[i]!);
  w.tagVarint(tag(14, 0), span.droppedLinksCount);
  const status = w.begin(tag(15, LEN), 1);
  if (span.status.message) w.tagString(tag(2, LEN), span.status.message);
  w.tagVarint(tag(3, 0), span.status.code);
  w.end(status, 1);
  w.tagFixed32(tag(16, 5), spanFlags(ctx.traceFlags, parent?.isRemote));
  w.end(m, 2);
}

let shared: ProtoWriter | undefined;
/** Above this the shared buffer is dropped after use, so one huge batch does not stay resident. */
const KEEP_BYTES = 4 * 1024 * 1024;

/** One ScopeSpans' content: its scope, then its Span messages, written by `body`. */
interface Framed<G> {
  readonly resource: ResourceLike;
  readonly scopes: readonly G[];
}

/**
 * An ExportTraceServiceRequest around the groups given: per resource its ResourceSpans, per
 * scope its ScopeSpans, whose Span messages `body` writes (from span objects, or bytes written
 * when the spans ended: span-batch.ts).
 */
function writeRequest<G extends { readonly scope: ScopeLike }>(groups: readonly Framed<G>[], body: (w: ProtoWriter, group: G) => void): Buffer {
  // Re-entered only if an attribute getter exported spans: that call gets its own writer.
  const w = shared ?? new ProtoWriter();
  shared = undefined;
  w.pos = 0;
  try {
    for (let r = 0; r < groups.length; r++) {
      const { resource, scopes } = groups[r]!;
      const rs = w.begin(tag(1, LEN), 3);
      const res = w.begin(tag(1, LEN), 2);
      if (resource.attributes) writeAttributes(w, resource.attributes, tag(1, LEN));
      w.tagVarint(tag(2, 0), 0);
      w.end(res, 2);
      for (let s = 0; s < scopes.length; s++) {
        const group = scopes[s]!;
        const ss = w.begin(tag(2, LEN), 3);
        writeScope(w, group.scope);
        body(w, group);
        if (group.scope.schemaUrl) w.tagString(tag(3, LEN), group.scope.schemaUrl);
        w.end(ss, 3);
      }
      if (resource.schemaUrl) w.tagString(tag(3, LEN), resource.schemaUrl);
      w.end(rs, 3);
    }
    return w.finish();
  } finally {
    if (w.buf.length <= KEEP_BYTES) shared = w;
  }
}

const spansBody = (w: ProtoWriter, group: ScopeGroup): void => {
  const list = group.spans;
  for (let i = 0; i < list.length; i++) writeSpan(w, list[i]!);
};

/**
 * An OTLP ExportTraceServiceRequest as protobuf bytes, written in one pass from the spans'
 * public fields. Byte-identical to upstream's ProtobufTraceSerializer (0.300) for the same spans
 * (test/unit/otlp-encoder.test.mjs), except that equal scopes given as distinct objects share
 * one ScopeSpans (see groupSpans).
 */
export function encodeTraceProto(spans: readonly SpanLike[]): Buffer {
  return writeRequest(groupSpans(spans), spansBody);
}

/** A scope's Span messages, already written (tag, length and body each). */
export interface EncodedScope {
  readonly scope: ScopeLike;
  readonly bytes: Uint8Array;
}

const bytesBody = (w: ProtoWriter, group: EncodedScope): void => w.put(group.bytes);

/** The request around Span messages written earlier, grouped as encodeTraceProto groups spans. */
export function encodeTraceProtoFrom(groups: readonly Framed<EncodedScope>[]): Buffer {
  return writeRequest(groups, bytesBody);
}
