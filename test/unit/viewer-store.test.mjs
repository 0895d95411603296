// The viewer's store stays bounded (count and bytes, oldest out first), filters as the API says,
// and the server shrugs off bad input.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { Store } from '../../dist/viewer/store.js';
import { startViewer } from '../../dist/viewer/server.js';
import { MAX_BODY_BYTES } from '../../dist/viewer/receiver.js';

const span = (traceId, name, { parent = '', start = 1000, end = 1010, status = 'unset', service = 'svc', attributes = {} } = {}) => ({
  traceId,
  spanId: `${traceId}-${name}`,
  parentSpanId: parent,
  name,
  kind: 'server',
  startMs: start,
  endMs: end,
  attributes,
  events: [],
  links: [],
  status: { code: status, message: '' },
  service,
  scope: 's',
  resource: { 'service.name': service },
});

test('the trace ring drops the oldest trace past the count cap', () => {
  const store = new Store({ maxTraces: 3, maxBytes: 1e9 });
  for (let i = 0; i < 5; i++) store.addSpans([span(`t${i}`, 'root', { start: i })]);
  assert.deepEqual(store.listTraces().map((t) => t.traceId), ['t4', 't3', 't2']);
  assert.equal(store.trace('t0'), undefined);
  assert.equal(store.dropped.traces, 2);
});

test('the trace ring drops the oldest traces past the byte cap, and its byte count stays true', () => {
  const store = new Store({ maxTraces: 1000, maxBytes: 50_000 });
  for (let i = 0; i < 100; i++) store.addSpans([span(`t${i}`, 'root', { attributes: { blob: 'x'.repeat(2000) } })]);
  const kept = store.listTraces();
  assert.ok(kept.length > 5 && kept.length < 20, `${kept.length} traces kept`);
  assert.equal(kept.at(-1).traceId, `t${100 - kept.length}`, 'the newest are the ones kept');
  assert.ok(store.usage.bytes <= 50_000);
  let sum = 0;
  for (const t of kept) sum += store.trace(t.traceId).reduce((n, s) => n + JSON.stringify(s).length, 0);
  assert.ok(sum <= 50_000, 'what is kept fits the cap');
});

test('summaries and filters: service, name, status, minimum duration', () => {
  const store = new Store({ maxTraces: 10, maxBytes: 1e9 });
  store.addSpans([span('a', 'GET /a', { start: 0, end: 100 }), span('a', 'db', { parent: 'a-GET /a', start: 10, end: 20, status: 'error', service: 'db' })]);
  store.addSpans([span('b', 'GET /b', { start: 50, end: 55, service: 'other' })]);
  // A child whose parent never arrived: the earliest orphan stands in as the root.
  store.addSpans([span('c', 'late', { parent: 'missing', start: 70, end: 80 })]);
  const [a] = store.listTraces({ name: 'get /a' });
  assert.deepEqual(a, { traceId: 'a', service: 'svc', rootName: 'GET /a', rootPath: '', startMs: 0, durationMs: 100, spanCount: 2, error: true, services: ['svc', 'db'] });
  assert.deepEqual(store.listTraces().map((t) => t.traceId), ['c', 'b', 'a'], 'newest first');
  assert.deepEqual(store.listTraces({ service: 'db' }).map((t) => t.traceId), ['a']);
  assert.deepEqual(store.listTraces({ status: 'error' }).map((t) => t.traceId), ['a']);
  assert.deepEqual(store.listTraces({ status: 'ok' }).map((t) => t.traceId), ['c', 'b']);
  assert.deepEqual(store.listTraces({ minDurationMs: 10 }).map((t) => t.traceId), ['c', 'a']);
  assert.equal(store.listTraces({ name: 'late' })[0].rootName, 'late');
});

test('metric series keep their latest points, bounded', () => {
  const store = new Store();
  for (let i = 0; i < 200; i++) store.addMetrics([{ service: 's', name: 'c', description: '', unit: '1', type: 'sum', monotonic: true, series: [{ attributes: {}, point: { timeMs: i, value: i } }] }]);
  const [m] = store.listMetrics();
  assert.equal(m.series[0].points.length, 120);
  assert.equal(m.series[0].points.at(-1).value, 199);
});

async function post(url, body, headers = {}) {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf', ...headers } });
  return { status: res.status, text: await res.text() };
}

test('bad input: malformed bodies get 400, oversized 413, unknown traces 404; the viewer keeps serving', async () => {
  const viewer = await startViewer({ port: 0 });
  try {
    const u = (p) => `${viewer.url}${p}`;
    assert.equal((await post(u('v1/traces'), Buffer.from([0x0a, 0x05, 0x01]))).status, 400, 'truncated protobuf');
    assert.equal((await post(u('v1/traces'), Buffer.from([0x0f]))).status, 400, 'wire type 7');
    assert.equal((await post(u('v1/metrics'), '{"resourceMetrics":', { 'content-type': 'application/json' })).status, 400, 'truncated JSON');
    assert.equal((await post(u('v1/logs'), Buffer.from('not gzip'), { 'content-encoding': 'gzip' })).status, 400, 'bad gzip');
    assert.equal((await post(u('v1/traces'), Buffer.alloc(MAX_BODY_BYTES + 1))).status, 413, 'too large');
    const bomb = gzipSync(Buffer.alloc(MAX_BODY_BYTES + 1024));
    assert.ok(bomb.length < 100_000);
    assert.equal((await post(u('v1/traces'), bomb, { 'content-encoding': 'gzip' })).status, 413, 'inflates too large');
    assert.equal((await fetch(u('api/traces/0123456789abcdef0123456789abcdef'))).status, 404);
    assert.equal((await fetch(u('traces/0123456789abcdef0123456789abcdef'))).status, 404, 'the page of an unknown trace');
    assert.equal((await fetch(u('nope'))).status, 404);
    assert.equal((await post(u('v1/traces'), Buffer.alloc(0))).status, 200, 'an empty request is a valid one');
    const ok = await post(u('v1/traces'), JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), name: 'x', startTimeUnixNano: '1', endTimeUnixNano: '2' }] }] }] }), { 'content-type': 'application/json' });
    assert.deepEqual(ok, { status: 200, text: '{}' });
    const list = await (await fetch(u('api/traces'))).json();
    assert.deepEqual(list.traces.map((t) => t.traceId), ['ab'.repeat(16)]);
    assert.equal((await fetch(u(`traces/${'ab'.repeat(16)}`))).status, 200);
  } finally {
    await viewer.close();
  }
});

test('a taken port: the viewer takes the next free one', async () => {
  const blocker = createServer();
  await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
  const taken = blocker.address().port;
  try {
    const viewer = await startViewer({ port: taken });
    assert.ok(viewer.port > taken, `${viewer.port} after ${taken}`);
    assert.equal((await fetch(`${viewer.url}api/traces`)).status, 200);
    await viewer.close();
  } finally {
    blocker.close();
  }
});
