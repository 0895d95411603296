// Our OTLP trace encoder (src/otlp) against upstream's serializers (otlp-transformer 0.300), on
// spans from upstream's SDK and on hand-made span records: the protobuf must be byte-identical
// (and decode, with the official protos, to the same request), the JSON text identical.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { encodeTraceJson } from '../../dist/otlp/json-trace.js';
import { encodeTraceProto } from '../../dist/otlp/proto-trace.js';
import { useOwnTraceEncoder } from '../../dist/otlp/swap.js';
import { joinRequests, SpanBatch } from '../../dist/otlp/span-batch.js';
import { createServer } from 'node:http';

const require = createRequire(import.meta.url);
// The receiver's decoder (test/helpers/otlp.mjs runs @elastic/mockotlpserver): the official protos.
const Request = require('@elastic/mockotlpserver/lib/proto.js').getProtoRoot().lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const decode = (bytes) => Request.toObject(Request.decode(bytes), { longs: String, bytes: String, defaults: true, arrays: true, objects: true });

const long = (n, s) => s.repeat(Math.ceil(n / s.length)).slice(0, n);
const ATTRS = {
  str: 'value',
  escapes: 'q"b\\n\n\r\t\b\f\u0001\u001f\u007f</script>\u2028',
  longEscapes: long(100, 'é"\\\n\u0000\ud800x'),
  'key "quoted" \\ ✓': 1,
  empty: '',
  unicode: 'héllo wörld ✓ 日本 😀',
  lone: 'a\ud800b\udc00c\ud83d',
  long: long(200, 'abcdefghij'),
  longUnicode: long(300, 'é✓😀x'),
  // Short enough for the one-pass loop, past 127 bytes.
  midUnicode: long(50, '日本'),
  t: true,
  f: false,
  zero: 0,
  negZero: -0,
  int: 42,
  neg: -7,
  big32: 2 ** 32 + 5,
  negBig: -(2 ** 40) - 3,
  safe: Number.MAX_SAFE_INTEGER,
  past53: 2 ** 60,
  int64Edge: 2 ** 63,
  double: 3.25,
  negDouble: -0.1,
  nan: NaN,
  inf: Infinity,
  strings: ['a', '', 'é'],
  ints: [1, -1, 2 ** 33],
  doubles: [1.5, 2.5],
  bools: [true, false],
  emptyArray: [],
  withNull: ['x', null],
  bytes: new Uint8Array([0, 1, 2, 255]),
  emptyBytes: new Uint8Array(0),
  kv: { a: 1, b: 'two', c: [true], d: { e: 1.5 } },
  emptyKv: {},
  nil: null,
};

/** Spans from upstream's SDK: every field it can set, two resources, scopes with and without version, schema URL and attributes. */
async function sdkSpans() {
  const out = [];
  for (const [service, extra] of [['svc-a', {}], ['svc-ü', { 'host.name': 'h', n: 3 }]]) {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, ...extra }, { schemaUrl: service === 'svc-a' ? 'https://opentelemetry.io/schemas/1.26.0' : undefined }),
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
      spanLimits: { attributeCountLimit: 40, eventCountLimit: 2, linkCountLimit: 2, attributePerEventCountLimit: 2, attributePerLinkCountLimit: 2 },
    });
    const tracers = [
      provider.getTracer('plain'),
      provider.getTracer('versioned', '1.2.3'),
      provider.getTracer('schema', '0.1.0', { schemaUrl: 'https://example.com/schema' }),
      provider.getTracer('scoped', '2.0.0', { attributes: { 'scope.attr': 'x', n: 1 } }),
    ];
    const remote = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
      traceState: new TraceState('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'),
    });
    for (const [i, tracer] of tracers.entries()) {
      const root = tracer.startSpan(`root ${i}`, { kind: SpanKind.SERVER, attributes: ATTRS }, i % 2 ? remote : ROOT_CONTEXT);
      const child = tracer.startSpan(
        'child ✓',
        {
          kind: i,
          attributes: { 'http.method': 'GET', n: i },
          links: [
            // The SDK keeps the last two (linkCountLimit).
            { context: { traceId: 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', spanId: 'ffffffffffffffff', traceFlags: 1 } },
            { context: { traceId: 'cccccccccccccccccccccccccccccccc', spanId: 'dddddddddddddddd', traceFlags: 1 } },
            { context: { traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', spanId: 'bbbbbbbbbbbbbbbb', traceFlags: 0, isRemote: true, traceState: new TraceState('k=v') }, attributes: { a: 1, b: 2, c: 3 } },
          ],
        },
        trace.setSpan(context.active(), root),
      );
      child.addEvent('plain');
      child.addEvent('with attrs ✓', { a: 'x', b: [1, 2], c: 3 }, [1700000000, 123]);
      child.addEvent('dropped');
      child.recordException(new Error('boom'));
      child.setStatus({ code: SpanStatusCode.ERROR, message: 'it broke: ✗' });
      child.end([1700000001, 999999999]);
      root.setStatus({ code: i === 0 ? SpanStatusCode.OK : SpanStatusCode.UNSET });
      root.end();
    }
    await provider.forceFlush();
    out.push(...exporter.getFinishedSpans());
  }
  return out;
}

const hr = (ms) => [Math.floor(ms / 1000), (ms % 1000) * 1e6];
const ctx = (traceId, spanId, extra = {}) => ({ traceId, spanId, traceFlags: 1, ...extra });
const SCOPE = { name: 'hand' };

/** Hand-made records (the lean tracer's shape): what upstream's SDK never produces. */
let hand;
function handSpans() {
  return (hand ??= makeHandSpans());
}
function makeHandSpans() {
  const resource = resourceFromAttributes({ 'service.name': 'hand' });
  const base = (over) => ({
    name: 'h',
    kind: SpanKind.CLIENT,
    spanContext: () => ctx('0123456789abcdef0123456789abcdef', '0123456789abcdef'),
    parentSpanContext: undefined,
    startTime: [0, 5],
    endTime: [4294967296 * 3, 999999999],
    status: { code: SpanStatusCode.UNSET },
    attributes: {},
    links: [],
    events: [],
    resource,
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    ...over,
  });
  return [
    base({}),
    base({ name: '', status: { code: SpanStatusCode.ERROR, message: '' }, droppedAttributesCount: 300, droppedEventsCount: 1, droppedLinksCount: 70000 }),
    base({ parentSpanContext: ctx('0123456789abcdef0123456789abcdef', 'ABCDEF0123456789', { isRemote: false }), spanContext: () => ctx('FFEEDDCCBBAA99887766554433221100', '1122334455667788', { traceState: new TraceState('') }) }),
    base({ kind: undefined, attributes: { undef: undefined, big: 10n, bytes: Buffer.from('buf') } }),
    // Lengths needing 4 bytes, in the span, its ScopeSpans and its ResourceSpans.
    base({ attributes: { mid: long(20000, 'z') } }),
    base({ attributes: { huge: long(2_200_000, 'é✓x') } }),
    base({ events: [{ time: hr(1700000000123), name: 'e', droppedAttributesCount: 4 }, { time: [1700000000, 123.7], name: 'fractional ns' }], links: [{ context: ctx('00000000000000000000000000000001', '0000000000000001', { traceFlags: 0 }), droppedAttributesCount: 9 }] }),
    // Equal scope, distinct object: one ScopeSpans either way.
    base({ instrumentationScope: { name: 'hand' } }),
  ];
}

/** A batch as the BatchSpanProcessor sends it: up to 512 spans of mixed scopes (lengths past 16 KiB and 2 MiB). */
async function bigBatch(n) {
  const spans = await sdkSpans();
  return Array.from({ length: n }, (_, i) => spans[i % spans.length]);
}

function same(spans, label) {
  const ours = encodeTraceProto(spans);
  const theirs = ProtobufTraceSerializer.serializeRequest(spans);
  const decoded = decode(ours);
  assert.equal(decoded.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).length, spans.length, `${label}: every span decodes`);
  // Identical bytes imply equal decoded requests; the decoded diff is for reading a failure.
  if (!Buffer.from(theirs).equals(ours)) assert.deepEqual(decoded, decode(theirs), `${label}: decoded protobuf`);
  assert.ok(Buffer.from(theirs).equals(ours), `${label}: protobuf bytes`);
  const json = Buffer.from(encodeTraceJson(spans)).toString();
  const upstream = Buffer.from(JsonTraceSerializer.serializeRequest(spans)).toString();
  const parsed = JSON.parse(json);
  if (json !== upstream) assert.deepEqual(parsed, JSON.parse(upstream), `${label}: parsed JSON`);
  assert.equal(json, upstream, `${label}: JSON text`);
}

test('SDK spans: every attribute type, events, links, status, limits, two resources, four scopes', async () => {
  const spans = await sdkSpans();
  assert.ok(spans.some((s) => s.droppedEventsCount > 0 && s.droppedLinksCount > 0 && s.links.some((l) => l.context.traceState && l.attributes)));
  same(spans, 'sdk');
});

test('hand-made records: empty names and messages, remote and local parents, upper-case ids, no kind, odd values', () => {
  same(handSpans().slice(0, -1), 'hand');
});

test('equal scopes given as distinct objects share one ScopeSpans', () => {
  const spans = handSpans();
  const decoded = decode(encodeTraceProto(spans));
  assert.equal(decoded.resourceSpans[0].scopeSpans.length, 1);
  assert.equal(decoded.resourceSpans[0].scopeSpans[0].spans.length, spans.length);
  assert.deepEqual(JSON.parse(Buffer.from(encodeTraceJson(spans)).toString()), JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(spans)).toString()));
});

test('big batches, one after another (the writer is reused), and an empty one', async () => {
  for (const n of [512, 2000, 1, 0]) same(await bigBatch(n), `batch of ${n}`);
});

test('the encoder returns its own bytes: a later request does not change an earlier one', async () => {
  const a = encodeTraceProto(handSpans());
  const copy = Buffer.from(a);
  encodeTraceProto(await bigBatch(50));
  assert.ok(copy.equals(a));
});

// Spans encoded one by one as they end (src/otlp/span-batch.ts, for encoding-processor.ts): the
// request assembled from them must be the one the batch encoders, hence upstream, write.
function sameIncremental(spans, label) {
  const proto = SpanBatch.of(spans, false).bytes();
  assert.ok(proto.equals(encodeTraceProto(spans)), `${label}: protobuf, span by span vs batch`);
  assert.ok(proto.equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans))), `${label}: protobuf, span by span vs upstream`);
  const json = SpanBatch.of(spans, true).bytes().toString();
  assert.equal(json, Buffer.from(encodeTraceJson(spans)).toString(), `${label}: JSON, span by span vs batch`);
  assert.equal(json, Buffer.from(JsonTraceSerializer.serializeRequest(spans)).toString(), `${label}: JSON, span by span vs upstream`);
}

/** The same spans in another order: resources and scopes interleaved differently. */
const shuffled = (spans) => spans.map((s, i) => [(i * 7919) % 101, i, s]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);

test('span by span: byte-identical to upstream, mixed resources and scopes, in several orders', async () => {
  const spans = await sdkSpans();
  sameIncremental(spans, 'sdk');
  sameIncremental([...spans].reverse(), 'sdk reversed');
  sameIncremental(shuffled(await bigBatch(600)), 'shuffled 600');
  for (const n of [512, 2000, 1]) sameIncremental(await bigBatch(n), `batch of ${n}`);
  sameIncremental(handSpans().slice(0, -1), 'hand');
  // Equal scopes as distinct objects: one ScopeSpans, as our batch encoder writes it.
  const hand = handSpans();
  assert.ok(SpanBatch.of(hand, false).bytes().equals(encodeTraceProto(hand)));
});

test('span by span: a span that cannot be encoded leaves the batch as it was', async () => {
  const spans = await sdkSpans();
  for (const json of [false, true]) {
    const b = new SpanBatch(json);
    b.add(spans[0]);
    const broken = Object.assign(Object.create(Object.getPrototypeOf(spans[1])), spans[1], { name: spans[1].name, spanContext: () => ({ traceId: 'x', spanId: undefined, traceFlags: 1 }) });
    assert.throws(() => b.add(broken));
    // A new scope whose only span failed: no empty ScopeSpans.
    const alone = Object.assign(Object.create(Object.getPrototypeOf(spans[1])), spans[1], { instrumentationScope: { name: 'only-broken' }, spanContext: broken.spanContext });
    assert.throws(() => b.add(alone));
    b.add(spans[2]);
    assert.equal(b.count, 2);
    const expected = json ? encodeTraceJson([spans[0], spans[2]]) : encodeTraceProto([spans[0], spans[2]]);
    assert.ok(b.bytes().equals(expected), `json=${json}`);
  }
});

test('requests joined for the exit send: the protobuf decodes to every span, the JSON parses to every resourceSpans', async () => {
  const spans = await sdkSpans();
  const [a, b] = [spans.slice(0, 5), spans.slice(5)];
  const proto = joinRequests([SpanBatch.of(a, false).bytes(), SpanBatch.of(b, false).bytes()], false);
  assert.deepEqual(decode(proto).resourceSpans, [...decode(encodeTraceProto(a)).resourceSpans, ...decode(encodeTraceProto(b)).resourceSpans]);
  const json = JSON.parse(joinRequests([SpanBatch.of(a, true).bytes(), SpanBatch.of([], true).bytes(), SpanBatch.of(b, true).bytes()], true).toString());
  assert.deepEqual(json.resourceSpans, [...JSON.parse(encodeTraceJson(a)).resourceSpans, ...JSON.parse(encodeTraceJson(b)).resourceSpans]);
});

// The swap reaches into otlp-exporter-base 0.300's private `_delegate._serializer`
// (src/otlp/swap.ts): these fail when upstream moves it.
for (const proto of ['proto', 'http', 'grpc']) {
  test(`@opentelemetry/exporter-trace-otlp-${proto}: our encoder replaces upstream's serializer`, () => {
    const { OTLPTraceExporter } = require(`@opentelemetry/exporter-trace-otlp-${proto}`);
    const exporter = new OTLPTraceExporter({ url: 'http://127.0.0.1:9' });
    const before = exporter._delegate._serializer;
    assert.equal(useOwnTraceEncoder(exporter, proto === 'http'), true);
    const after = exporter._delegate._serializer;
    assert.notEqual(after, before);
    assert.equal(useOwnTraceEncoder(exporter, proto === 'http'), true, 'a second install is a no-op');
    assert.equal(exporter._delegate._serializer, after);
    assert.deepEqual(after.deserializeResponse(before === JsonTraceSerializer ? Buffer.from('{}') : new Uint8Array(0)), {});
    // A batch encoded as its spans ended goes out as its own bytes (src/sdk/encoding-processor.ts).
    const spans = handSpans().slice(0, 3);
    const encode = proto === 'http' ? encodeTraceJson : encodeTraceProto;
    assert.ok(Buffer.from(after.serializeRequest(SpanBatch.of(spans, proto === 'http'))).equals(encode(spans)));
    assert.ok(Buffer.from(after.serializeRequest(spans)).equals(encode(spans)));
    exporter.shutdown();
  });
}

test("an exporter's export goes through our encoder (http/protobuf and http/json, to a local sink)", async () => {
  const bodies = [];
  const sink = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c)).on('end', () => {
      bodies.push(Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': req.headers['content-type'] }).end();
    });
  });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  try {
    // Equal scopes as distinct objects: upstream's protobuf writer gives two ScopeSpans, ours one.
    const spans = handSpans().slice(0, 2).concat(handSpans().at(-1));
    for (const proto of ['proto', 'http']) {
      const { OTLPTraceExporter } = require(`@opentelemetry/exporter-trace-otlp-${proto}`);
      const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${sink.address().port}/v1/traces` });
      assert.equal(useOwnTraceEncoder(exporter, proto === 'http'), true);
      const result = await new Promise((r) => exporter.export(spans, r));
      assert.equal(result.code, 0, String(result.error));
      await exporter.shutdown();
    }
    assert.ok(bodies[0].equals(encodeTraceProto(spans)));
    assert.notDeepEqual(bodies[0], Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)));
    assert.equal(bodies[1].toString(), Buffer.from(encodeTraceJson(spans)).toString());
  } finally {
    sink.close();
  }
});
