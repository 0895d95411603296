// Unit tests for src/multiprocess: merging contributors (fold.ts), gauge policies (policy.ts),
// live/ended/retired contributors (aggregate.ts), and the SharedArrayBuffer shards written by a
// real worker thread (shard.ts, thread-meter.ts, threads.ts) and read from this thread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { Aggregate } from '../../dist/multiprocess/aggregate.js';
import { attrKey, DeltaState, fold, toScopeMetrics } from '../../dist/multiprocess/fold.js';
import { gaugePolicies } from '../../dist/multiprocess/policy.js';
import { MAX_RECORDS, ShardReader } from '../../dist/multiprocess/shard.js';
import { toSnapshot } from '../../dist/multiprocess/snapshot.js';
import { ThreadMeterProvider, ThreadStore } from '../../dist/multiprocess/thread-meter.js';
import { ThreadShards } from '../../dist/multiprocess/threads.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

// ---- plain snapshots ----------------------------------------------------------------------------

const pt = (attrs, value, time = 1000, start = 0) => ({ attrs, start, time, value });
const metric = (name, kind, points, int = false) => ({ name, description: `${name} description`, unit: '1', kind, int, points });
const snap = (source, metrics, { pid = Number(source.split('/')[0]), thread, scope = 'app' } = {}) => ({
  source,
  pid,
  ...(thread !== undefined ? { thread } : {}),
  scopes: [{ name: scope, version: '1.0.0', metrics }],
});
const hv = (bounds, counts, sum, min, max) => ({ bounds, counts, sum, min, max });
const opts = (policy = 'pid', extra = {}) => ({ policy: () => policy, ...extra });

/** The folded metric `name` (whatever its scope), or undefined. */
function metricOf(folded, name) {
  for (const fs of folded.values()) if (fs.metrics.has(name)) return fs.metrics.get(name);
  return undefined;
}
/** Points of the folded metric `name`, as [attrs, value] sorted by attribute key. */
function points(folded, name) {
  const fm = metricOf(folded, name);
  if (fm === undefined) return undefined;
  return byKey([...fm.points.values()].map((p) => [p.attrs, p.value]));
}
const byKey = (pts) => {
  const key = (p) => attrKey(p[0]);
  return [...pts].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
};
function foldAll(snaps, o) {
  const into = new Map();
  for (const s of snaps) fold(into, s, o);
  return into;
}

// ---- fold.ts ------------------------------------------------------------------------------------

test('fold: counters, up-down counters and histograms add per attribute set, whatever the key order', () => {
  const a = snap('100', [
    metric('reqs', 'counter', [pt({ route: '/', method: 'GET' }, 3), pt({}, 1)], true),
    metric('inflight', 'updown', [pt({ q: 'x' }, 5)]),
    metric('lat', 'histogram', [pt({ route: '/' }, hv([1, 10], [1, 2, 0], 8, 0.5, 4))]),
  ]);
  const b = snap('200', [
    metric('reqs', 'counter', [pt({ method: 'GET', route: '/' }, 4), pt({ route: '/x' }, 2)], true),
    metric('inflight', 'updown', [pt({ q: 'x' }, -7)]),
    metric('lat', 'histogram', [pt({ route: '/' }, hv([1, 10], [0, 1, 3], 150, 2, 60))]),
  ]);
  const before = structuredClone([a, b]);
  const f = foldAll([a, b], opts());
  assert.deepEqual(points(f, 'reqs'), [
    [{}, 1],
    [{ route: '/', method: 'GET' }, 7],
    [{ route: '/x' }, 2],
  ]);
  assert.deepEqual(points(f, 'inflight'), [[{ q: 'x' }, -2]]);
  assert.deepEqual(points(f, 'lat'), [[{ route: '/' }, hv([1, 10], [1, 3, 3], 158, 0.5, 60)]]);
  assert.deepEqual(metricOf(f, 'reqs').meta, { name: 'reqs', description: 'reqs description', unit: '1', kind: 'counter', int: true });
  // A fold never mutates what it reads: the same snapshots are folded again at every collection.
  assert.deepEqual([a, b], before);
  const again = foldAll([a, b], opts());
  assert.deepEqual(points(again, 'lat'), points(f, 'lat'));
  // Start is the earliest, time the latest.
  const c = foldAll([snap('1', [metric('n', 'counter', [pt({}, 1, 500, 100)])]), snap('2', [metric('n', 'counter', [pt({}, 1, 900, 50)])])], opts());
  const p = [...metricOf(c, 'n').points.values()][0];
  assert.deepEqual([p.start, p.time, p.value], [50, 900, 2]);
});

test('fold: histograms whose buckets differ are reported through conflict and left out', () => {
  const conflicts = [];
  const o = opts('pid', { conflict: (name, why) => conflicts.push([name, why]) });
  const f = foldAll(
    [
      snap('1', [metric('lat', 'histogram', [pt({}, hv([1, 10], [1, 1, 1], 20, 0.5, 15))])]),
      snap('2', [metric('lat', 'histogram', [pt({}, hv([1, 5, 10], [5, 5, 5, 5], 999, 0, 99))])]),
      snap('3', [metric('lat', 'histogram', [pt({}, hv([1, 10], [0, 2, 0], 6, 3, 3))])]),
    ],
    o,
  );
  // The mismatched contributor's point is left out; the others still add.
  assert.deepEqual(points(f, 'lat'), [[{}, hv([1, 10], [1, 3, 1], 26, 0.5, 15)]]);
  assert.equal(conflicts.length, 1);
  assert.equal(conflicts[0][0], 'lat');
  assert.match(conflicts[0][1], /different histogram buckets/);
});

test('fold: a metric recorded as two kinds keeps the first kind; the other is reported and left out', () => {
  const conflicts = [];
  const f = foldAll(
    [snap('1', [metric('jobs', 'counter', [pt({}, 5)])]), snap('2', [metric('jobs', 'gauge', [pt({}, 42)])]), snap('3', [metric('jobs', 'counter', [pt({}, 1)])])],
    opts('sum', { conflict: (name, why) => conflicts.push([name, why]) }),
  );
  assert.equal(metricOf(f, 'jobs').meta.kind, 'counter');
  assert.deepEqual(points(f, 'jobs'), [[{}, 6]]);
  assert.deepEqual(conflicts, [['jobs', 'one contributor records it as a counter, another as a gauge']]);
});

test('fold: gauge policies pid, sum, last, min and max', () => {
  // Process 10 reports 4 at t=3000; process 20 reports 9 at t=2000; thread 10/3 reports 1 at t=1000.
  const snaps = [
    snap('10', [metric('queue', 'gauge', [pt({ q: 'a' }, 4, 3000)])]),
    snap('20', [metric('queue', 'gauge', [pt({ q: 'a' }, 9, 2000)])]),
    snap('10/3', [metric('queue', 'gauge', [pt({ q: 'a' }, 1, 1000)])], { pid: 10, thread: 3 }),
  ];
  const expect = { sum: 14, last: 4, min: 1, max: 9 };
  for (const [policy, value] of Object.entries(expect)) {
    // Every order gives the same answer.
    for (const order of [snaps, [...snaps].reverse(), [snaps[1], snaps[2], snaps[0]]]) {
      assert.deepEqual(points(foldAll(order, opts(policy)), 'queue'), [[{ q: 'a' }, value]], `${policy}`);
    }
  }
  // pid: one series per contributor, told apart by process.pid (and thread.id for a thread).
  assert.deepEqual(
    points(foldAll(snaps, opts('pid')), 'queue'),
    byKey([
      [{ q: 'a', 'process.pid': 10 }, 4],
      [{ q: 'a', 'process.pid': 10, 'thread.id': 3 }, 1],
      [{ q: 'a', 'process.pid': 20 }, 9],
    ]),
  );
  // The policy is asked per metric name, and only for gauges.
  const asked = [];
  foldAll([...snaps, snap('30', [metric('reqs', 'counter', [pt({}, 1)])])], { policy: (n) => (asked.push(n), 'sum') });
  assert.ok(asked.length > 0 && asked.every((n) => n === 'queue'), `asked for ${asked}`);
});

test('fold: pid policy keeps a process.pid (and thread.id) a nearer aggregator already set', () => {
  // A cluster worker (pid 20) folded its own thread's gauge and sent it up: the primary must not
  // relabel it with the worker's pid.
  const fromChild = snap('20', [metric('heap', 'gauge', [pt({ 'process.pid': 20, 'thread.id': 7 }, 11), pt({ 'process.pid': 21 }, 12)])]);
  const own = snap('10', [metric('heap', 'gauge', [pt({}, 13)])]);
  const threaded = snap('10/2', [metric('heap', 'gauge', [pt({ 'thread.id': 99 }, 14)])], { pid: 10, thread: 2 });
  assert.deepEqual(
    points(foldAll([fromChild, own, threaded], opts('pid')), 'heap'),
    byKey([
      [{ 'process.pid': 10 }, 13],
      [{ 'thread.id': 99, 'process.pid': 10 }, 14],
      [{ 'process.pid': 20, 'thread.id': 7 }, 11],
      [{ 'process.pid': 21 }, 12],
    ]),
  );
});

test('fold: monotonicOnly keeps counters and histograms, drops gauges and up-down counters', () => {
  const s = snap('1', [
    metric('reqs', 'counter', [pt({}, 3)]),
    metric('lat', 'histogram', [pt({}, hv([1], [1, 0], 0.5, 0.5, 0.5))]),
    metric('heap', 'gauge', [pt({}, 100)]),
    metric('inflight', 'updown', [pt({}, 2)]),
  ]);
  const f = foldAll([s], opts('sum', { monotonicOnly: true }));
  assert.deepEqual(points(f, 'reqs'), [[{}, 3]]);
  assert.equal(points(f, 'lat').length, 1);
  assert.equal(metricOf(f, 'heap'), undefined);
  assert.equal(metricOf(f, 'inflight'), undefined);
  // A scope with nothing monotonic leaves no empty scope behind.
  const g = foldAll([snap('1', [metric('heap', 'gauge', [pt({}, 1)])])], opts('sum', { monotonicOnly: true }));
  assert.equal(g.size, 0);
});

// ---- DeltaState and toScopeMetrics --------------------------------------------------------------

const CUMULATIVE = () => 1;
const DELTA = () => 0;

test('toScopeMetrics: data point types, monotonicity, temporality and value types', () => {
  const f = foldAll(
    [
      snap('1', [
        metric('reqs', 'counter', [pt({ r: '/' }, 3, 2000, 1000)], true),
        metric('inflight', 'updown', [pt({}, -1)]),
        metric('heap', 'gauge', [pt({}, 7)]),
        metric('lat', 'histogram', [pt({}, hv([1, 10], [1, 2, 3], 99, 0.25, 50))]),
        metric('empty', 'histogram', [pt({}, hv([1], [0, 0], 0, null, null))]),
      ]),
    ],
    opts('sum'),
  );
  const seen = [];
  const [sm] = toScopeMetrics(f, (t) => (seen.push(t), t === 'COUNTER' ? 0 : 1));
  assert.deepEqual(sm.scope, { name: 'app', version: '1.0.0' });
  const by = Object.fromEntries(sm.metrics.map((m) => [m.descriptor.name, m]));
  assert.deepEqual(seen.sort(), ['COUNTER', 'GAUGE', 'HISTOGRAM', 'HISTOGRAM', 'UP_DOWN_COUNTER']);
  assert.deepEqual([by.reqs.dataPointType, by.reqs.isMonotonic, by.reqs.aggregationTemporality, by.reqs.descriptor.valueType], [3, true, 0, 0]);
  assert.deepEqual([by.inflight.dataPointType, by.inflight.isMonotonic, by.inflight.aggregationTemporality, by.inflight.descriptor.valueType], [3, false, 1, 1]);
  assert.deepEqual([by.heap.dataPointType, by.heap.isMonotonic], [2, undefined]);
  assert.equal(by.lat.dataPointType, 0);
  assert.deepEqual(by.reqs.descriptor, { name: 'reqs', description: 'reqs description', unit: '1', valueType: 0 });
  const rp = by.reqs.dataPoints[0];
  assert.deepEqual([rp.attributes, rp.value, rp.startTime, rp.endTime], [{ r: '/' }, 3, [1, 0], [2, 0]]);
  assert.deepEqual(by.lat.dataPoints[0].value, { buckets: { boundaries: [1, 10], counts: [1, 2, 3] }, sum: 99, count: 6, min: 0.25, max: 50 });
  // No min/max when nothing was recorded (JSON-safe null in the snapshot, absent in the SDK shape).
  assert.deepEqual(by.empty.dataPoints[0].value, { buckets: { boundaries: [1], counts: [0, 0] }, sum: 0, count: 0 });
});

test('DeltaState: counters and histograms become differences across collections; gauges stay as they are', () => {
  const deltas = new DeltaState();
  const at = (n, h, g, time) =>
    foldAll(
      [
        snap('1', [
          metric('reqs', 'counter', [pt({ r: '/' }, n, time, 0)]),
          metric('lat', 'histogram', [pt({}, h, time, 0)]),
          metric('heap', 'gauge', [pt({}, g, time, 0)]),
        ]),
      ],
      opts('sum'),
    );
  const collect = (f) => Object.fromEntries(toScopeMetrics(f, DELTA, deltas)[0].metrics.map((m) => [m.descriptor.name, m.dataPoints[0]]));
  const first = collect(at(5, hv([1], [2, 1], 3, 0.5, 2), 70, 1000));
  assert.equal(first.reqs.value, 5, 'the first collection is everything since the start');
  assert.deepEqual(first.reqs.startTime, [0, 0]);
  const second = collect(at(12, hv([1], [3, 4], 10, 0.5, 4), 60, 2000));
  assert.equal(second.reqs.value, 7);
  assert.deepEqual([second.reqs.startTime, second.reqs.endTime], [[1, 0], [2, 0]], 'a delta starts where the previous collection ended');
  assert.deepEqual(second.lat.value, { buckets: { boundaries: [1], counts: [1, 3] }, sum: 7, count: 4 });
  assert.equal(second.heap.value, 60);
  const third = collect(at(12, hv([1], [3, 4], 10, 0.5, 4), 61, 3000));
  assert.equal(third.reqs.value, 0);
  assert.deepEqual(third.lat.value.buckets.counts, [0, 0]);
  // Cumulative readers are not converted, even when handed the same state.
  const cum = toScopeMetrics(at(20, hv([1], [9, 9], 30, 0.1, 9), 1, 4000), CUMULATIVE, deltas)[0].metrics.find((m) => m.descriptor.name === 'reqs');
  assert.equal(cum.dataPoints[0].value, 20);
  // Separate attribute sets and separate readers keep separate state.
  const other = new DeltaState();
  assert.equal(other.delta('k', pt({}, 9, 1)).value, 9);
  assert.equal(other.delta('k2', pt({}, 4, 1)).value, 4);
  assert.equal(other.delta('k', pt({}, 10, 2)).value, 1);
});

test('DeltaState: a histogram whose buckets changed is passed whole rather than subtracted', () => {
  const d = new DeltaState();
  d.delta('h', pt({}, hv([1], [1, 1], 2, 1, 1), 1000));
  const p = d.delta('h', pt({}, hv([1, 2], [1, 1, 1], 4, 1, 2), 2000));
  assert.deepEqual(p.value, hv([1, 2], [1, 1, 1], 4, 1, 2));
});

// ---- policy.ts ----------------------------------------------------------------------------------

test('gauge policies: exact names, prefixes ending in *, the longest prefix wins, the fallback otherwise', () => {
  const warnings = [];
  const policy = gaugePolicies('pid', { 'http.server.active': 'sum', 'http.*': 'max', 'http.server.*': 'min', 'db.pool.size': ' LAST ' }, (w) => warnings.push(w));
  assert.equal(policy('http.server.active'), 'sum', 'exact beats every prefix');
  assert.equal(policy('http.server.queue'), 'min', 'the longer prefix wins, whatever the order given');
  assert.equal(policy('http.client.open'), 'max');
  assert.equal(policy('db.pool.size'), 'last', 'trimmed and case-insensitive');
  assert.equal(policy('db.pool.size.max'), 'pid', 'an exact name is not a prefix');
  assert.equal(policy('heap'), 'pid');
  assert.equal(policy('heap'), 'pid', 'asked again (cached)');
  assert.deepEqual(warnings, []);
  const everything = gaugePolicies('sum', { '*': 'max' }, () => {});
  assert.equal(everything('anything'), 'max');
});

test('gauge policies: a bad value is one warning naming it, and that name uses the fallback', () => {
  const warnings = [];
  const policy = gaugePolicies('last', { 'queue.depth': 'average', 'queue.*': 'sum', 'x.*': '' }, (w) => warnings.push(w));
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /OTEL_NODE_MULTIPROCESS_GAUGE_POLICIES: "queue\.depth=average" is not one of pid, sum, last, min, max; queue\.depth uses last/);
  assert.match(warnings[1], /"x\.\*="/);
  // The bad exact entry is ignored, so the prefix applies.
  assert.equal(policy('queue.depth'), 'sum');
  assert.equal(policy('x.y'), 'last');
  policy('queue.depth');
  assert.equal(warnings.length, 2, 'no warning per lookup');
});

// ---- aggregate.ts -------------------------------------------------------------------------------

function everything(source, { reqs = 1, heap = 50, inflight = 2, lat = 1 } = {}) {
  return snap(source, [
    metric('reqs', 'counter', [pt({}, reqs)]),
    metric('heap', 'gauge', [pt({}, heap)]),
    metric('inflight', 'updown', [pt({}, inflight)]),
    metric('lat', 'histogram', [pt({}, hv([1], [lat, 0], lat * 0.5, 0.5, 0.5))]),
  ]);
}
const collectAgg = (agg) => {
  const f = new Map();
  agg.foldInto(f);
  return f;
};

test('aggregate: a retired contributor keeps its counters and histograms, loses its gauges and up-down counters', () => {
  const agg = new Aggregate(opts('sum'));
  assert.equal(agg.empty, true);
  agg.update(everything('1', { reqs: 10, heap: 100, inflight: 3, lat: 2 }));
  agg.update(everything('2', { reqs: 5, heap: 40, inflight: 1, lat: 1 }));
  assert.equal(agg.liveCount, 2);
  let f = collectAgg(agg);
  assert.deepEqual(points(f, 'reqs'), [[{}, 15]]);
  assert.deepEqual(points(f, 'heap'), [[{}, 140]]);
  assert.deepEqual(points(f, 'inflight'), [[{}, 4]]);
  agg.retire('1');
  agg.retire('unknown'); // never seen: nothing happens
  assert.equal(agg.liveCount, 1);
  f = collectAgg(agg);
  assert.deepEqual(points(f, 'reqs'), [[{}, 15]]);
  assert.deepEqual(points(f, 'lat')[0][1].counts, [3, 0]);
  assert.deepEqual(points(f, 'heap'), [[{}, 40]]);
  assert.deepEqual(points(f, 'inflight'), [[{}, 1]]);
  // The live one's later update replaces its earlier snapshot (cumulative, not added twice).
  agg.update(everything('2', { reqs: 6, heap: 41, inflight: 0, lat: 1 }));
  f = collectAgg(agg);
  assert.deepEqual(points(f, 'reqs'), [[{}, 16]]);
  assert.equal(agg.empty, false);
});

test('aggregate: a late snapshot after retire replaces the ended one', () => {
  const agg = new Aggregate(opts('sum'));
  agg.update(everything('7', { reqs: 3 }));
  agg.retire('7');
  // The child's last snapshot arrives after its exit was seen.
  agg.update(everything('7', { reqs: 8, heap: 999 }));
  const f = collectAgg(agg);
  assert.deepEqual(points(f, 'reqs'), [[{}, 8]]);
  assert.equal(metricOf(f, 'heap'), undefined, 'still ended: its gauge stays out');
  assert.equal(agg.liveCount, 0);
});

test('aggregate: after 16 ended contributors, compaction keeps totals exact and ignores later updates from compacted sources', () => {
  const agg = new Aggregate(opts('sum'));
  let expected = 0;
  for (let i = 1; i <= 15; i++) {
    agg.update(everything(`${i}`, { reqs: i, lat: 1 }));
    agg.retire(`${i}`);
    expected += i;
  }
  agg.update(everything('100', { reqs: 1000, heap: 5 }));
  const before = collectAgg(agg);
  assert.deepEqual(points(before, 'reqs'), [[{}, expected + 1000]]);
  // The 16th ended contributor triggers compaction.
  agg.update(everything('16', { reqs: 16 }));
  agg.retire('16');
  expected += 16;
  let f = collectAgg(agg);
  assert.deepEqual(points(f, 'reqs'), [[{}, expected + 1000]]);
  assert.deepEqual(points(f, 'lat')[0][1].counts, [17, 0]);
  assert.deepEqual(points(f, 'heap'), [[{}, 5]], 'only the live contributor has a gauge');
  // Folded twice gives the same totals (compaction is not re-applied at each collection).
  assert.deepEqual(points(collectAgg(agg), 'reqs'), points(f, 'reqs'));
  // A compacted source's late snapshot would count it twice: ignored.
  agg.update(everything('3', { reqs: 1_000_000 }));
  agg.update(everything('16', { reqs: 1_000_000 }));
  f = collectAgg(agg);
  assert.deepEqual(points(f, 'reqs'), [[{}, expected + 1000]]);
  // And the live contributor still counts.
  agg.update(everything('100', { reqs: 1001 }));
  assert.deepEqual(points(collectAgg(agg), 'reqs'), [[{}, expected + 1001]]);
  // Retiring it too keeps its counter.
  agg.retire('100');
  f = collectAgg(agg);
  assert.deepEqual(points(f, 'reqs'), [[{}, expected + 1001]]);
  assert.equal(metricOf(f, 'heap'), undefined);
});

// ---- shards written in a real worker thread ------------------------------------------------------

/**
 * Starts a worker that writes through ThreadMeterProvider; `body` runs with `meter`, `store`,
 * `post` and `workerData` in scope. The worker posts its shard first, then {done} when body
 * has run; warnings from the store are posted as {warn}.
 */
function startWorker(body, data = {}) {
  const code = `
const { parentPort, workerData, threadId } = require('node:worker_threads');
const { ThreadMeterProvider, ThreadStore } = require(workerData.dist + 'multiprocess/thread-meter.js');
const post = (m) => parentPort.postMessage(m);
const store = new ThreadStore((w) => post({ warn: w }));
const meter = new ThreadMeterProvider(store).getMeter('worker-scope', '2.0.0');
post({ sab: store.writer.sab, thread: threadId });
(async () => {
${body}
})().then(() => post({ done: true }), (err) => post({ error: String(err && err.stack || err) }));
`;
  const w = new Worker(code, { eval: true, workerData: { dist: DIST, ...data } });
  const messages = [];
  const waiters = [];
  w.on('message', (m) => {
    messages.push(m);
    for (const x of [...waiters]) if (x.pred(m)) (waiters.splice(waiters.indexOf(x), 1), x.resolve(m));
  });
  const exited = new Promise((resolve) => w.once('exit', resolve));
  const waitFor = (pred) => {
    const m = messages.find(pred);
    return m !== undefined ? Promise.resolve(m) : new Promise((resolve) => waiters.push({ pred, resolve }));
  };
  const reader = waitFor((m) => m.sab !== undefined).then((m) => new ShardReader(m.sab, { source: `${process.pid}/${m.thread}`, pid: process.pid, thread: m.thread }));
  const done = waitFor((m) => m.done || m.error).then((m) => {
    if (m.error) throw new Error(`worker failed: ${m.error}`);
    return m;
  });
  return { w, messages, reader, done, exited, waitFor };
}

/** The shard's snapshot folded as the main thread folds it (the pid policy). */
function readFolded(reader) {
  return foldAll([reader.snapshot()], opts('pid'));
}

test('shard: counter totals written in a worker are exact, with attributes written in any key order', async () => {
  const { reader, done, exited, messages } = startWorker(`
const c = meter.createCounter('jobs', { description: 'jobs done', unit: '{job}' });
const ints = meter.createCounter('bytes', { valueType: 0 });
const ud = meter.createUpDownCounter('inflight');
const orders = [{ a: 'x', b: 'y', c: 'z' }, { c: 'z', a: 'x', b: 'y' }, { b: 'y', c: 'z', a: 'x' }];
for (let i = 0; i < 1e6; i++) {
  c.add(1, orders[i % 3]);
  if (i % 10 === 0) c.add(0.5);
}
c.add(-5, orders[0]); c.add(NaN); c.add(Infinity, orders[1]); // dropped, as the SDK drops them
ints.add(2.9); ints.add(3);
for (let i = 0; i < 1000; i++) { ud.add(1, { q: 'a' }); ud.add(-1, { q: 'a' }); }
ud.add(-3, { q: 'a' });
`);
  await done;
  await exited;
  assert.deepEqual(messages.filter((m) => m.warn), []);
  const r = await reader;
  assert.equal(r.valid(), true);
  const s = r.snapshot();
  assert.equal(s.scopes.length, 1);
  assert.deepEqual({ name: s.scopes[0].name, version: s.scopes[0].version }, { name: 'worker-scope', version: '2.0.0' });
  // The same attributes written in another key order are one series in the shard.
  assert.equal(s.scopes[0].metrics.find((m) => m.name === 'jobs').points.length, 2);
  const f = foldAll([s], opts('pid'));
  assert.deepEqual(points(f, 'jobs'), [
    [{}, 50000],
    [{ a: 'x', b: 'y', c: 'z' }, 1e6],
  ]);
  assert.deepEqual(metricOf(f, 'jobs').meta, { name: 'jobs', description: 'jobs done', unit: '{job}', kind: 'counter', int: false });
  assert.deepEqual(points(f, 'bytes'), [[{}, 5]], 'an INT counter truncates, as the SDK does');
  assert.equal(metricOf(f, 'bytes').meta.int, true);
  assert.deepEqual(points(f, 'inflight'), [[{ q: 'a' }, -3]]);
  assert.equal(metricOf(f, 'inflight').meta.kind, 'updown');
});

/** The SDK's own histogram for the same records: what a worker's histogram must equal. */
async function sdkHistogram(values, options) {
  class Reader extends MetricReader {
    async onForceFlush() {}
    async onShutdown() {}
  }
  const reader = new Reader();
  const mp = new MeterProvider({ readers: [reader] });
  const h = mp.getMeter('sdk').createHistogram('h', options);
  for (const v of values) h.record(v, { k: 'v' });
  const { resourceMetrics } = await reader.collect();
  await mp.shutdown();
  return toSnapshot(resourceMetrics, { source: 'sdk', pid: 0 }).scopes[0].metrics[0].points[0].value;
}

test('shard: histogram buckets, sum, min and max written in a worker equal the SDK histogram for the same records', async () => {
  const values = [0, 3, 5, 5.0001, 7, 10, 24.9, 25, 1000, 1000.5, 20000, 0.001, 42, 42, 42];
  // Both drop these. (The SDK keeps +Infinity, in the +Inf bucket with an infinite sum; a shard
  // drops it, as a snapshot must stay JSON-safe: not compared here.)
  const dropped = [-1, NaN];
  const custom = [1, 2.5, 10];
  const { reader, done } = startWorker(
    `
const h = meter.createHistogram('latency', { unit: 'ms' });
const c = meter.createHistogram('custom', { advice: { explicitBucketBoundaries: workerData.custom } });
const empty = meter.createHistogram('empty');
for (const v of [...workerData.values, ...workerData.dropped]) { h.record(v, { k: 'v' }); c.record(v, { k: 'v' }); }
empty.record(-1, { k: 'v' }); // dropped: no series is made
h.record(Infinity, { k: 'v' });
`,
    { values, dropped, custom },
  );
  await done;
  const f = readFolded(await reader);
  const [[attrs, latency]] = points(f, 'latency');
  assert.deepEqual(attrs, { k: 'v' });
  assert.deepEqual(latency, await sdkHistogram([...values, ...dropped]));
  assert.deepEqual(latency.counts, [1, 3, 3, 2, 3, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1]);
  assert.equal(latency.sum, values.reduce((a, b) => a + b, 0));
  assert.equal(latency.min, 0);
  assert.equal(latency.max, 20000);
  const [[, customValue]] = points(f, 'custom');
  assert.deepEqual(customValue, await sdkHistogram([...values, ...dropped], { advice: { explicitBucketBoundaries: custom } }));
  assert.deepEqual(customValue.bounds, custom);
  assert.equal(metricOf(f, 'empty'), undefined);
});

test('shard: a gauge keeps its last value and when it was set', async () => {
  const { reader, done, waitFor } = startWorker(`
const g = meter.createGauge('temp');
g.record(10, { room: 'a' });
g.record(NaN, { room: 'a' }); // dropped
await new Promise((r) => setTimeout(r, 20));
const before = Date.now();
g.record(-3.5, { room: 'a' });
post({ before, after: Date.now() });
`);
  const { before, after } = await waitFor((m) => m.before !== undefined);
  await done;
  const s = (await reader).snapshot(123); // `now` is a sum's time, never a gauge's
  const [p] = s.scopes[0].metrics.find((m) => m.name === 'temp').points;
  assert.deepEqual(p.attrs, { room: 'a' });
  assert.equal(p.value, -3.5);
  assert.ok(p.time >= before && p.time <= after, `time ${p.time} not in [${before}, ${after}]`);
  assert.ok(p.start < before, 'start is when the series was made, before the 20 ms wait');
});

test('shard: a full shard is one warning and no crash; what was recorded stays exact', async () => {
  const { reader, done, exited, messages } = startWorker(
    `
const c = meter.createCounter('wide');
let i = 0;
for (; i < workerData.max + 500; i++) c.add(1, { i });
c.add(1, { i: 0 }); // an existing series still counts
c.add(1, { i: i + 1 }); // a new one is not recorded
meter.createHistogram('late').record(1); // nor a new instrument
meter.createGauge('late.gauge').record(1);
post({ added: i });
`,
    { max: MAX_RECORDS },
  );
  await done;
  assert.equal(await exited, 0);
  const warnings = messages.filter((m) => m.warn).map((m) => m.warn);
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /this thread's metric store is full \(at wide\); new series in this thread are not recorded/);
  const r = await reader;
  assert.equal(r.full(), true);
  const s = r.snapshot();
  const wide = s.scopes[0].metrics.find((m) => m.name === 'wide').points;
  assert.ok(wide.length > 1000 && wide.length < MAX_RECORDS, `${wide.length} series`);
  // Every recorded series is 1, but {i: 0}, added to once more after the shard filled.
  const values = new Map(wide.map((p) => [p.attrs.i, p.value]));
  assert.equal(values.get(0), 2);
  for (let i = 1; i < wide.length; i++) assert.equal(values.get(i), 1, `series ${i}`);
  assert.equal(s.scopes[0].metrics.length, 1, 'no later instrument made it in');
});

test('shard: a value read while a worker writes never goes backwards, and ends exact', async () => {
  // go[0]: start writing; go[1]: 1 once the worker has written half and waits, 2 to go on. The
  // pause makes a read of a partial total certain, not a matter of how the threads are scheduled.
  const go = new Int32Array(new SharedArrayBuffer(8));
  const N = 600_000;
  const { reader, done } = startWorker(
    `
const c = meter.createCounter('ticks');
const h = meter.createHistogram('sizes');
const attrs = [{ a: 1, b: 2 }, { b: 2, a: 1 }];
const go = new Int32Array(workerData.go);
Atomics.wait(go, 0, 0); // start writing once the main thread is reading
for (let i = 0; i < workerData.n; i++) {
  if (i === workerData.n / 2) {
    Atomics.store(go, 1, 1);
    Atomics.wait(go, 1, 1);
  }
  c.add(1, attrs[i & 1]);
  if ((i & 7) === 0) h.record(i % 100);
}
store.writer.close();
`,
    { go: go.buffer, n: N },
  );
  const r = await reader;
  let last = 0;
  let lastCount = 0;
  let reads = 0;
  let between = 0;
  Atomics.store(go, 0, 1);
  Atomics.notify(go, 0);
  // Bounded, so that a shard that is never closed fails here rather than hanging.
  const giveUp = Date.now() + 60_000;
  for (;;) {
    // Read the closed flag first: a read after it sees everything.
    const closed = r.closed();
    // Read before the shard: when set, the first half is written and the rest waits for us.
    const half = Atomics.load(go, 1) === 1;
    const f = readFolded(r);
    const v = points(f, 'ticks')?.[0]?.[1] ?? 0;
    const count = points(f, 'sizes')?.[0]?.[1].counts.reduce((a, b) => a + b, 0) ?? 0;
    assert.ok(v >= last, `counter went from ${last} to ${v} at read ${reads}`);
    assert.ok(count >= lastCount, `histogram count went from ${lastCount} to ${count}`);
    if (v > 0 && v < N) between++;
    if (half) {
      Atomics.store(go, 1, 2);
      Atomics.notify(go, 1);
    }
    last = v;
    lastCount = count;
    reads++;
    if (closed || Date.now() > giveUp) break;
  }
  assert.equal(r.closed(), true, 'the worker closed its shard');
  await done;
  assert.equal(last, N);
  assert.equal(lastCount, N / 8);
  assert.ok(between > 0, `no read saw a partial total in ${reads} reads: not concurrent`);
});

// ---- threads.ts: the real worker-side install and the main thread's reader ------------------------

const quietLog = () => {
  const warnings = [];
  return { warnings, level: 'warn', enabled: () => false, error: () => {}, warn: (m) => warnings.push(m), info: () => {}, debug: () => {} };
};

test('threads: a worker that ends has its shard closed and is retired: counters stay, gauges go', async () => {
  const agg = new Aggregate(opts('pid'));
  const log = quietLog();
  const shards = new ThreadShards(agg, log, 60_000);
  try {
    const code = `
const { parentPort, workerData } = require('node:worker_threads');
const api = require('@opentelemetry/api');
const threads = require(workerData.dist + 'multiprocess/threads.js');
const data = threads.threadsStartData();
threads.startThreadMetrics(api, data, { warn() {}, debug() {} });
const m = api.metrics.getMeter('w');
m.createCounter('done').add(3, { k: 'v' });
m.createGauge('level').record(9);
let observed = 0;
m.createObservableGauge('observed').addCallback((r) => r.observe(++observed));
parentPort.postMessage({ provider: api.metrics.getMeterProvider().constructor.name, data });
parentPort.once('message', () => parentPort.close()); // then the thread ends on its own
`;
    const w = new Worker(code, { eval: true, workerData: { dist: DIST } });
    const hello = await new Promise((resolve) => w.once('message', resolve));
    assert.equal(hello.provider, 'ThreadMeterProvider');
    assert.equal(hello.data.intervalMs, 60_000);
    // The shard arrives on the BroadcastChannel; poll until it has been received.
    for (let i = 0; i < 200 && agg.liveCount === 0; i++) {
      shards.refresh();
      if (agg.liveCount === 0) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(agg.liveCount, 1, 'the worker shard was received');
    let f = collectAgg(agg);
    assert.deepEqual(points(f, 'done'), [[{ k: 'v' }, 3]]);
    assert.deepEqual(points(f, 'level'), [[{ 'process.pid': process.pid, 'thread.id': w.threadId }, 9]]);
    assert.equal(metricOf(f, 'observed'), undefined, 'observables run on the thread timer, not yet');
    const exit = new Promise((resolve) => w.once('exit', resolve));
    w.postMessage('end');
    assert.equal(await exit, 0);
    shards.refresh();
    assert.equal(agg.liveCount, 0, 'retired once its shard is closed');
    f = collectAgg(agg);
    assert.deepEqual(points(f, 'done'), [[{ k: 'v' }, 3]], 'counters outlive the thread');
    assert.equal(metricOf(f, 'level'), undefined, 'gauges go with it');
    assert.deepEqual(log.warnings, []);
  } finally {
    shards.close();
  }
});

test('threads: the exit-time observable round lands in the closed shard', async () => {
  const { reader, done, exited, waitFor, w } = startWorker(`
const { ThreadMeterProvider } = require(workerData.dist + 'multiprocess/thread-meter.js');
// startThreadMetrics' exit hook, without the channel: run observables, then close.
const provider = new ThreadMeterProvider(store);
const m = provider.getMeter('obs');
let n = 0;
m.createObservableCounter('polls').addCallback((r) => r.observe(++n * 10, { src: 'cb' }));
m.createObservableGauge('throws').addCallback(() => { throw new Error('app bug'); });
m.createObservableUpDownCounter('rejects').addCallback(() => Promise.reject(new Error('app bug')));
provider.observables.run();
process.once('exit', () => { provider.observables.run(); store.writer.close(); });
post({ ran: true });
parentPort.once('message', () => parentPort.close()); // then the thread ends on its own
`);
  await waitFor((m) => m.ran);
  const r = await reader;
  assert.equal(r.closed(), false);
  assert.deepEqual(points(readFolded(r), 'polls'), [[{ src: 'cb' }, 10]]);
  w.postMessage('end');
  await done;
  assert.equal(await exited, 0, 'a throwing or rejecting callback does not crash the thread');
  assert.equal(r.closed(), true);
  assert.deepEqual(points(readFolded(r), 'polls'), [[{ src: 'cb' }, 20]], 'observed once more at exit');
});

// ---- found while writing these tests, fixed since -------------------------------------------------

test('a gauge written twice in one thread with its attribute keys in another order keeps the last value under every policy', () => {
  const store = new ThreadStore(() => {});
  const g = new ThreadMeterProvider(store).getMeter('s').createGauge('g');
  g.record(5, { a: 1, b: 2 });
  g.record(7, { b: 2, a: 1 });
  const s = new ShardReader(store.writer.sab, { source: '1/1', pid: 1, thread: 1 }).snapshot();
  for (const policy of ['sum', 'min', 'max', 'last']) {
    assert.deepEqual(points(foldAll([s], opts(policy)), 'g'), [[{ a: 1, b: 2 }, 7]], policy);
  }
});

test('attribute values 200 and "200" are two series, as in the SDK', () => {
  const store = new ThreadStore(() => {});
  const c = new ThreadMeterProvider(store).getMeter('s').createCounter('c');
  c.add(1, { code: 200 });
  c.add(1, { code: '200' });
  const s = new ShardReader(store.writer.sab, { source: '1/1', pid: 1, thread: 1 }).snapshot();
  assert.deepEqual(points(foldAll([s], opts()), 'c'), [
    [{ code: '200' }, 1],
    [{ code: 200 }, 1],
  ]);
});

test('threads: a worker stopped by worker.terminate() (no exit handlers run) is retired on its Worker\'s exit: counters stay, gauges go', async () => {
  const agg = new Aggregate(opts('pid'));
  const log = quietLog();
  const shards = new ThreadShards(agg, log, 60_000);
  try {
    const code = `
const { parentPort, workerData } = require('node:worker_threads');
const api = require('@opentelemetry/api');
const threads = require(workerData.dist + 'multiprocess/threads.js');
threads.startThreadMetrics(api, threads.threadsStartData(), { warn() {}, debug() {} });
const m = api.metrics.getMeter('w');
m.createCounter('done').add(3);
m.createGauge('level').record(9);
parentPort.postMessage('ready');
setInterval(() => {}, 1000); // a pool thread waiting for work
`;
    const w = new Worker(code, { eval: true, workerData: { dist: DIST } });
    await new Promise((resolve) => w.once('message', resolve));
    for (let i = 0; i < 200 && agg.liveCount === 0; i++) {
      shards.refresh();
      if (agg.liveCount === 0) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(agg.liveCount, 1, 'the worker shard was received');
    await w.terminate();
    shards.refresh();
    assert.equal(agg.liveCount, 0, 'retired on the Worker\'s exit event');
    const f = collectAgg(agg);
    assert.deepEqual(points(f, 'done'), [[{}, 3]], 'counters outlive the thread');
    assert.equal(metricOf(f, 'level'), undefined, 'gauges go with it');
  } finally {
    shards.close();
  }
});

test('a gauge series is never read before its first value is in it', async () => {
  const go = new Int32Array(new SharedArrayBuffer(4));
  const { reader, done } = startWorker(
    `
const g = meter.createGauge('queue.depth');
Atomics.wait(new Int32Array(workerData.go), 0, 0);
for (let i = 0; i < 20000; i++) g.record(5, { i });
store.writer.close();
`,
    { go: go.buffer },
  );
  const r = await reader;
  Atomics.store(go, 0, 1);
  Atomics.notify(go, 0);
  const unset = [];
  const giveUp = Date.now() + 60_000;
  for (;;) {
    const closed = r.closed();
    for (const sc of r.snapshot().scopes) for (const m of sc.metrics) for (const p of m.points) if (p.time === 0 || p.value !== 5) unset.push(p);
    if (closed || Date.now() > giveUp) break;
  }
  await done;
  assert.deepEqual(unset.slice(0, 3), []);
});
