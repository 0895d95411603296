import { ByteBuffer } from './byte-buffer';
import { JsonWriter } from './json-writer';
import { encodeTraceJsonFrom, spanJson } from './json-trace';
import { ProtoWriter } from './proto-writer';
import { encodeTraceProtoFrom, writeSpan } from './proto-trace';
import type { ResourceLike, ScopeLike, SpanLike } from './types';

/** A scope's spans' bytes, in the order they ended. */
interface Segment {
  readonly scope: ScopeLike;
  readonly w: ProtoWriter | JsonWriter;
  n: number;
}

interface ResourceSegments {
  readonly resource: ResourceLike;
  readonly scopes: Segment[];
  readonly byObject: Map<ScopeLike, Segment>;
  readonly byKey: Map<string, Segment>;
}

/** A new segment's first size; it doubles as needed. */
const SEGMENT_BYTES = 16 * 1024;
/**
 * Segments' writers, given back once their batch is assembled and reused by the next batches,
 * so that a busy process does not allocate and grow fresh buffers for every batch. Bounded: at
 * most POOLED writers of at most KEEP_BYTES each are kept.
 */
const POOLED = 8;
const KEEP_BYTES = 512 * 1024;
const pools = { proto: [] as ProtoWriter[], json: [] as JsonWriter[] };
/**
 * Spans a batch holds as objects before encoding them together. One by one, each span's encoding
 * ran between the app's own work and cost Express ~8 µs more per request than upstream's
 * processor (bench:steady, Node 24 and 22), though encoding alone costs the same either way
 * (bench:encode); a few at a time keeps the encoder's code and data warm, and 32 spans waiting are
 * still too few to grow the young generation.
 */
const STAGE = 32;

function writer(json: boolean): ProtoWriter | JsonWriter {
  const w = (json ? pools.json.pop() : pools.proto.pop()) ?? (json ? new JsonWriter(SEGMENT_BYTES) : new ProtoWriter(SEGMENT_BYTES));
  w.pos = 0;
  return w;
}

function release(w: ProtoWriter | JsonWriter): void {
  if (w.buf.length > KEEP_BYTES) return;
  if (w instanceof ProtoWriter) {
    if (pools.proto.length < POOLED) pools.proto.push(w);
  } else if (pools.json.length < POOLED) pools.json.push(w);
}

/**
 * Spans encoded one by one as they end, for one export: the Span messages (or JSON objects) of
 * each resource and scope kept as bytes, grouped as encodeTraceProto / encodeTraceJson group a
 * batch (resources, then scopes by name, version and schema URL, in order of first appearance;
 * spans in end order), so `bytes()` is the very request those would write for the same spans.
 * The span objects are not kept: they die young instead of waiting in the queue (issue 19).
 */
export class SpanBatch {
  /** Spans in the batch. */
  count = 0;
  private readonly resources: ResourceSegments[] = [];
  private lastScope: ScopeLike | undefined;
  private lastResource: ResourceLike | undefined;
  private last: Segment | undefined;
  private body: Buffer | undefined;
  /** Added, not yet encoded (at most STAGE; none without onError). */
  private readonly staged: SpanLike[] = [];

  /**
   * With `onError`, spans are encoded STAGE at a time, and one that cannot be encoded is left
   * out and handed to it; without, each is encoded as it is added, and add() throws for it.
   */
  constructor(
    readonly json: boolean,
    private readonly onError?: (err: unknown) => void,
  ) {}

  private segment(span: SpanLike): Segment {
    const scope = span.instrumentationScope;
    const resource = span.resource;
    if (scope === this.lastScope && resource === this.lastResource && this.last !== undefined) return this.last;
    let rs: ResourceSegments | undefined;
    for (let i = 0; i < this.resources.length; i++) if (this.resources[i]!.resource === resource) rs = this.resources[i];
    if (rs === undefined) {
      rs = { resource, scopes: [], byObject: new Map(), byKey: new Map() };
      this.resources.push(rs);
    }
    let seg = rs.byObject.get(scope);
    if (seg === undefined) {
      const key = `${scope.name}@${scope.version || ''}:${scope.schemaUrl || ''}`;
      seg = rs.byKey.get(key);
      if (seg === undefined) {
        seg = { scope, w: writer(this.json), n: 0 };
        rs.scopes.push(seg);
        rs.byKey.set(key, seg);
      }
      rs.byObject.set(scope, seg);
    }
    this.lastScope = scope;
    this.lastResource = resource;
    this.last = seg;
    return seg;
  }

  /** Adds the span; see the constructor for when it is encoded. */
  add(span: SpanLike): void {
    if (this.body !== undefined) throw new Error('batch already assembled');
    if (this.onError === undefined) {
      this.encode(span);
    } else {
      this.staged.push(span);
      if (this.staged.length >= STAGE) this.drain();
    }
    this.count++;
  }

  /** Encodes the staged spans; each that cannot be encoded is left out, uncounted, and given to onError. */
  drain(): void {
    const staged = this.staged;
    if (staged.length === 0) return;
    for (let i = 0; i < staged.length; i++) {
      try {
        this.encode(staged[i]!);
      } catch (err) {
        this.count--;
        this.onError?.(err);
      }
    }
    staged.length = 0;
  }

  /** Encodes the span into the batch; a throw (a malformed span) leaves the batch as it was. */
  private encode(span: SpanLike): void {
    const seg = this.segment(span);
    const w = seg.w;
    const at = w.pos;
    try {
      if (w instanceof ProtoWriter) writeSpan(w, span);
      else {
        if (seg.n > 0) w.raw(',');
        spanJson(w, span);
      }
    } catch (err) {
      w.pos = at;
      throw err;
    }
    seg.n++;
  }

  /** The resources of the spans, for their asynchronous attributes to settle before `bytes()`. */
  resourceList(): ResourceLike[] {
    this.drain();
    return this.resources.map((r) => r.resource);
  }

  /**
   * The ExportTraceServiceRequest (protobuf, or OTLP/JSON text), assembled once; the segments
   * are let go then. Resource attributes are read now, as upstream's serializer reads them at export.
   */
  bytes(): Buffer {
    if (this.body === undefined) {
      this.drain();
      const groups = [];
      for (const r of this.resources) {
        const scopes = r.scopes.filter((s) => s.n > 0).map((s) => ({ scope: s.scope, bytes: s.w.buf.subarray(0, s.w.pos) }));
        if (scopes.length > 0) groups.push({ resource: r.resource, scopes });
      }
      this.body = this.json ? encodeTraceJsonFrom(groups) : encodeTraceProtoFrom(groups);
      for (const r of this.resources) for (const s of r.scopes) release(s.w);
      this.resources.length = 0;
      this.last = this.lastScope = this.lastResource = undefined;
    }
    return this.body;
  }

  /** A batch of spans encoded now (spans kept as objects until the exporter could take bytes). */
  static of(spans: readonly SpanLike[], json: boolean): SpanBatch {
    const b = new SpanBatch(json);
    for (const s of spans) b.add(s);
    return b;
  }
}

const JSON_HEAD = Buffer.from('{"resourceSpans":[');
const JSON_TAIL = Buffer.from(']}');

/**
 * One request holding several: protobuf messages concatenated are their repeated fields
 * concatenated; OTLP/JSON requests get their resourceSpans arrays joined. Used at exit, where
 * one request is all there is time for.
 */
export function joinRequests(bodies: readonly Buffer[], json: boolean): Buffer {
  if (!json) return Buffer.concat(bodies);
  const w = new ByteBuffer(1024);
  w.put(JSON_HEAD);
  let first = true;
  for (const b of bodies) {
    const inner = b.subarray(JSON_HEAD.length, b.length - JSON_TAIL.length);
    if (inner.length === 0) continue;
    if (!first) w.put(Buffer.from(','));
    w.put(inner);
    first = false;
  }
  w.put(JSON_TAIL);
  return w.finish();
}
