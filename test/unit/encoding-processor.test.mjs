// Our batch span processor that encodes each span as it ends (src/sdk/encoding-processor.ts),
// against upstream's BatchSpanProcessor fed the same spans: the same requests, byte for byte,
// cut into the same batches; the same queue bound and drop count; objects until the exporter
// takes bytes; exports with tracing suppressed; shutdown once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { isTracingSuppressed } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ProtobufTraceSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { EncodingSpanProcessor } from '../../dist/sdk/encoding-processor.js';
import { SpanBatch } from '../../dist/otlp/span-batch.js';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

/** Ended SDK spans from two resources and three scopes, interleaved. */
function makeSpans(n) {
  const ended = [];
  const providers = ['svc-a', 'svc-b'].map(
    (service) => new TracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [{ onStart() {}, onEnd: (s) => ended.push(s), forceFlush: async () => {}, shutdown: async () => {} }] }),
  );
  const tracers = providers.flatMap((p) => [p.getTracer('http', '1.0.0'), p.getTracer('express', '2.0.0'), p.getTracer('pg')]);
  for (let i = 0; i < n; i++) {
    const span = tracers[(i * 5) % tracers.length].startSpan(`span ${i}`, { attributes: { i, even: i % 2 === 0 } });
    span.addEvent('e', { i });
    span.end();
  }
  return ended;
}

/** An exporter that records each request's bytes; `answer: false` never calls back. */
function recorder(json, answer = true) {
  const requests = [];
  const items = [];
  let shutdowns = 0;
  return {
    requests,
    items,
    get shutdowns() {
      return shutdowns;
    },
    export(batch, done) {
      items.push(batch);
      const serializer = json ? JsonTraceSerializer : ProtobufTraceSerializer;
      requests.push(Buffer.from(batch instanceof SpanBatch ? batch.bytes() : serializer.serializeRequest(batch)));
      if (answer) done({ code: 0 });
    },
    shutdown: async () => {
      shutdowns++;
    },
  };
}

const options = (exporter, extra = {}) => ({ exporter, json: false, takesEncoded: () => true, onDrop: () => {}, onEncodeError: (err) => assert.fail(err), context, scheduledDelayMillis: 60_000, ...extra });

// Batches of 5 are encoded when exported; batches of 100 also a few spans at a time as they fill
// (span-batch.ts STAGE = 32), mid-batch.
for (const [json, n, size, cuts] of [
  [false, 23, 5, [5, 5, 5, 5, 3]],
  [true, 23, 5, [5, 5, 5, 5, 3]],
  [false, 230, 100, [100, 100, 30]],
  [true, 230, 100, [100, 100, 30]],
]) {
  test(`the requests are upstream's, byte for byte, cut into the same batches (${json ? 'JSON' : 'protobuf'}, batches of ${size})`, async () => {
    const spans = makeSpans(n);
    const theirs = recorder(json);
    const upstream = new BatchSpanProcessor({ exporter: theirs, maxExportBatchSize: size, maxQueueSize: 4 * size, scheduledDelayMillis: 60_000 });
    const mine = recorder(json);
    const ours = new EncodingSpanProcessor(options(mine, { json, maxExportBatchSize: size, maxQueueSize: 4 * size }));
    for (const s of spans) {
      upstream.onEnd(s);
      ours.onEnd(s);
    }
    await Promise.all([upstream.forceFlush(), ours.forceFlush()]);
    assert.deepEqual(mine.items.map((b) => b.count), theirs.items.map((b) => b.length));
    assert.deepEqual(mine.items.map((b) => b.count), cuts);
    assert.ok(mine.items.every((b) => b instanceof SpanBatch));
    assert.equal(mine.requests.length, theirs.requests.length);
    for (let i = 0; i < theirs.requests.length; i++) assert.ok(mine.requests[i].equals(theirs.requests[i]), `request ${i}`);
    await Promise.all([upstream.shutdown(), ours.shutdown()]);
  });
}

test('spans stay objects until the exporter takes bytes, then are encoded batch by batch', async () => {
  const spans = makeSpans(9);
  let loaded = false;
  const mine = recorder(false);
  const exporter = { ...mine, export: (b, done) => ((loaded = true), mine.export(b, done)) };
  const ours = new EncodingSpanProcessor(options(exporter, { maxExportBatchSize: 3, takesEncoded: () => loaded }));
  // The first batch is exported at its third span (the exporter loads then); the second was
  // opened before, as objects; the third is encoded.
  for (const s of spans) ours.onEnd(s);
  await ours.forceFlush();
  assert.deepEqual(mine.items.map((b) => (Array.isArray(b) ? 'objects' : 'bytes')), ['objects', 'bytes', 'bytes']);
  const theirs = recorder(false);
  const upstream = new BatchSpanProcessor({ exporter: theirs, maxExportBatchSize: 3, scheduledDelayMillis: 60_000 });
  for (const s of spans) upstream.onEnd(s);
  await upstream.forceFlush();
  assert.deepEqual(mine.requests, theirs.requests);
});

test('the queue is bounded like upstream: a full queue drops the newest spans and counts them', async () => {
  const spans = makeSpans(30);
  // The exporter never answers: the first batch stays out, the queue fills.
  const mine = recorder(false, false);
  let dropped = 0;
  const ours = new EncodingSpanProcessor(options(mine, { maxExportBatchSize: 4, maxQueueSize: 10, onDrop: (n) => (dropped += n) }));
  const theirs = recorder(false, false);
  const upstream = new BatchSpanProcessor({ exporter: theirs, maxExportBatchSize: 4, maxQueueSize: 10, scheduledDelayMillis: 60_000 });
  for (const s of spans) {
    ours.onEnd(s);
    upstream.onEnd(s);
  }
  assert.equal(ours.queuedCount, 10);
  assert.equal(upstream._finishedSpans.length, 10);
  assert.equal(dropped, 30 - 4 - 10);
  assert.equal(upstream._droppedSpansCount, dropped);
  // The queued ones are the oldest: those sent at exit.
  const queued = ours.queuedItems();
  assert.deepEqual(queued.map((b) => b.count), [4, 4, 2]);
  assert.deepEqual(Buffer.concat(queued.map((b) => b.bytes())), Buffer.concat([0, 4, 8].map((i) => Buffer.from(ProtobufTraceSerializer.serializeRequest(spans.slice(4 + i, 4 + Math.min(i + 4, 10)))))));
});

test('unsampled spans are left out; after shutdown nothing is queued; shutdown flushes and shuts the exporter once', async () => {
  const [a, b, c] = makeSpans(3);
  const unsampled = Object.assign(Object.create(Object.getPrototypeOf(b)), b, { spanContext: () => ({ ...b.spanContext(), traceFlags: 0 }) });
  const mine = recorder(false);
  const ours = new EncodingSpanProcessor(options(mine));
  ours.onEnd(a);
  ours.onEnd(unsampled);
  assert.equal(ours.queuedCount, 1);
  const first = ours.shutdown();
  assert.equal(ours.shutdown(), first);
  assert.equal(ours.forceFlush(), first);
  ours.onEnd(c);
  await first;
  assert.equal(mine.shutdowns, 1);
  assert.equal(mine.items.length, 1);
  assert.equal(mine.items[0].count, 1);
  assert.equal(ours.queuedCount, 0);
});

test('a partial batch leaves after the schedule delay; exports run with tracing suppressed', async () => {
  const spans = makeSpans(2);
  const suppressed = [];
  const mine = recorder(false);
  const exported = new Promise((resolve) => {
    const exporter = { ...mine, export: (b, done) => (suppressed.push(isTracingSuppressed(context.active())), mine.export(b, done), resolve()) };
    const ours = new EncodingSpanProcessor(options(exporter, { scheduledDelayMillis: 20 }));
    context.with(trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext({ traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 1 })), () => {
      for (const s of spans) ours.onEnd(s);
    });
  });
  await exported;
  assert.deepEqual(suppressed, [true]);
  assert.equal(mine.items[0].count, 2);
});

test('a span that cannot be encoded is counted, never thrown to the caller', async () => {
  const [a, b] = makeSpans(2);
  const broken = Object.assign(Object.create(Object.getPrototypeOf(a)), a, { spanContext: () => ({ traceId: 'ab', spanId: null, traceFlags: 1 }) });
  const errors = [];
  const mine = recorder(false);
  const ours = new EncodingSpanProcessor(options(mine, { onEncodeError: (err) => errors.push(err) }));
  ours.onEnd(a);
  ours.onEnd(broken);
  ours.onEnd(b);
  // A local root's end encodes what is staged (encoding-processor.ts): the broken root is found
  // as it ends, and left out of the queue and the request.
  assert.equal(errors.length, 1);
  assert.equal(ours.queuedCount, 2);
  await ours.forceFlush();
  assert.equal(errors.length, 1);
  assert.equal(ours.queuedCount, 0);
  assert.ok(mine.requests[0].equals(Buffer.from(ProtobufTraceSerializer.serializeRequest([a, b]))));
});

// Spans that are not local roots wait, staged as objects, for their root's end or the end of the
// event loop's turn (issue 19: staged spans survive scavenges); a broken one is found then.
test('a child span is encoded when its local root ends, else at the end of the turn', async () => {
  const ended = [];
  const tp = new TracerProvider({ spanProcessors: [{ onStart() {}, onEnd: (s) => ended.push(s), forceFlush: async () => {}, shutdown: async () => {} }] });
  const tracer = tp.getTracer('t');
  const root = tracer.startSpan('root');
  const ctx = trace.setSpan(ROOT_CONTEXT, root);
  for (const name of ['child 1', 'child 2', 'child 3']) tracer.startSpan(name, {}, ctx).end();
  root.end();
  const [c1, c2, c3, r] = ended;
  const broken = (s) => Object.assign(Object.create(Object.getPrototypeOf(s)), s, { spanContext: () => ({ traceId: 'ab', spanId: null, traceFlags: 1 }) });
  const errors = [];
  const mine = recorder(false);
  const ours = new EncodingSpanProcessor(options(mine, { onEncodeError: (err) => errors.push(err) }));
  ours.onEnd(c1);
  ours.onEnd(broken(c2));
  assert.equal(errors.length, 0);
  ours.onEnd(r);
  assert.equal(errors.length, 1);
  ours.onEnd(broken(c3));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(errors.length, 2);
  assert.equal(ours.queuedCount, 2);
  await ours.forceFlush();
  assert.ok(mine.requests[0].equals(Buffer.from(ProtobufTraceSerializer.serializeRequest([c1, r]))));
});
