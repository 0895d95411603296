// Differential compatibility suite for otel-autoinstrument/prometheus: every case runs against
// prom-client (the reference, 15.1.3 from node_modules) and against ours (dist/prometheus), so a
// case can only be right if prom-client passes it too. The cases are ported from prom-client's own
// tests (test/{counter,gauge,histogram,summary,register,bucketGenerators}Test.js) and widened to
// check exposition text through a strict parser (test/helpers/prom-text.mjs).
//
// Where a cross-process store cannot reproduce prom-client exactly (summary quantiles: a
// mergeable sketch against prom-client's t-digest) the case asserts what both must agree on and a
// comment names the difference. Cases ours fails are marked { todo } for the ours run only.
// Ours runs each case in a node process of its own (see IMPLS at the end).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { family, parse, sampleValue } from '../helpers/prom-text.mjs';

const require = createRequire(import.meta.url);
const execFileP = promisify(execFile);
const OURS = fileURLToPath(new URL('../../dist/prometheus/index.js', import.meta.url));

const cases = [];
/** A case for both implementations; `ours` is the todo text when ours is known to differ. */
function compat(title, fn, { ours } = {}) {
  cases.push({ title, fn, ours });
}

// ---------------------------------------------------------------------------------------------
// Helpers over get(): labels compared as strings (prom-client keeps le and quantile as numbers in
// get(); the get() shape cases check that separately).

const str = (labels = {}) => Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));

/** get()'s values as [{ name, labels (as strings), value }]. */
async function series(metric) {
  const r = await metric.get();
  return r.values.map((v) => ({ name: v.metricName ?? r.name, labels: str(v.labels), value: v.value }));
}

/** The value of the one series with this name and exactly these labels. */
function pick(list, name, labels = {}) {
  const want = JSON.stringify(Object.entries(str(labels)).sort());
  const hits = list.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want);
  assert.equal(hits.length, 1, `one ${name}${want} in ${JSON.stringify(list)}`);
  return hits[0].value;
}

/**
 * True when the series is not exported or is exported at 0 everywhere. prom-client forgets a
 * series on reset()/remove(); ours keeps it at 0 (its store cannot forget one,
 * docs/prometheus-drop-in.md). Cases assert this common ground; 'forget' cases check prom-client's.
 */
function goneOrZero(list, labels) {
  const want = Object.entries(str(labels));
  return list.filter((s) => want.every(([k, v]) => s.labels[k] === v)).every((s) => s.value === 0);
}

/** Exposition of one registry, parsed. */
async function scrape(reg) {
  const text = reg.metrics();
  assert.ok(text instanceof Promise, 'metrics() returns a Promise');
  return parse(await text);
}

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DEFAULT_PERCENTILES = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999];

/** Bucket series of one label set from get(), as [[le, cumulative count]] in order. */
function buckets(list, name, labels = {}) {
  const rest = JSON.stringify(Object.entries(str(labels)).sort());
  return list
    .filter((s) => s.name === `${name}_bucket`)
    .filter(({ labels: { le, ...others } }) => JSON.stringify(Object.entries(others).sort()) === rest)
    .map((s) => [s.labels.le, s.value]);
}

// ---------------------------------------------------------------------------------------------
// Counter (prom-client test/counterTest.js)

compat('counter: an unlabelled counter starts at 0; inc() adds 1, inc(n) adds n, inc(0) adds nothing', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'jobs_total', help: 'h', registers: [reg] });
  assert.deepEqual(await series(c), [{ name: 'jobs_total', labels: {}, value: 0 }]);
  c.inc();
  c.inc(0);
  c.inc(2.5);
  assert.deepEqual(await series(c), [{ name: 'jobs_total', labels: {}, value: 3.5 }]);
});

compat('counter: a negative increment throws and changes nothing', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'c', help: 'h', labelNames: ['code'], registers: [reg] });
  const u = new p.Counter({ name: 'u', help: 'h', registers: [reg] });
  u.inc(2);
  c.inc({ code: '200' }, 3);
  assert.throws(() => u.inc(-1));
  assert.throws(() => c.inc({ code: '200' }, -1));
  assert.throws(() => c.labels('200').inc(-100));
  assert.deepEqual(await series(u), [{ name: 'u', labels: {}, value: 2 }]);
  assert.deepEqual(await series(c), [{ name: 'c', labels: { code: '200' }, value: 3 }]);
});

compat('counter: a non-number increment throws', ({ p, reg }) => {
  const c = new p.Counter({ name: 'c', help: 'h', registers: [reg] });
  assert.throws(() => c.inc('3ms'), TypeError);
});

compat('counter: labels() takes positional values in labelNames order or one object; inc(labels, n) addresses the same series', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'req', help: 'h', labelNames: ['method', 'endpoint'], registers: [reg] });
  c.labels('GET', '/a').inc();
  c.labels('POST', '/a').inc(2);
  c.labels({ method: 'GET', endpoint: '/a' }).inc(10);
  c.inc({ endpoint: '/a', method: 'POST' }, 5); // key order does not matter
  const s = await series(c);
  assert.equal(s.length, 2);
  assert.equal(pick(s, 'req', { method: 'GET', endpoint: '/a' }), 11);
  assert.equal(pick(s, 'req', { method: 'POST', endpoint: '/a' }), 7);
});

compat('counter: labels() with the wrong number of positional values throws', ({ p, reg }) => {
  const c = new p.Counter({ name: 'req', help: 'h', labelNames: ['method', 'endpoint'], registers: [reg] });
  assert.throws(() => c.labels('GET').inc());
  assert.throws(() => c.labels('GET', '/a', 'extra').inc());
});

compat('counter: a label not in labelNames throws (in inc and through labels())', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'req', help: 'h', labelNames: ['method'], registers: [reg] });
  assert.throws(() => c.inc({ nope: 'x' }));
  assert.throws(() => c.labels({ method: 'GET', nope: 'x' }).inc());
  assert.deepEqual(await series(c), []);
});

compat('counter: a labelled counter has no series before its first inc', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'req', help: 'h', labelNames: ['method'], registers: [reg] });
  assert.deepEqual(await series(c), []);
});

compat('counter: reset() puts an unlabelled counter back to 0 and a labelled one\'s series to nothing or 0; counting starts again from 0', async ({ p, reg }) => {
  const u = new p.Counter({ name: 'u', help: 'h', registers: [reg] });
  const c = new p.Counter({ name: 'c', help: 'h', labelNames: ['serial', 'active'], registers: [reg] });
  u.inc(12);
  c.inc({ serial: '12345', active: 'yes' }, 12);
  u.reset();
  c.reset();
  assert.deepEqual(await series(u), [{ name: 'u', labels: {}, value: 0 }]);
  assert.ok(goneOrZero(await series(c), {}), JSON.stringify(await series(c)));
  u.inc(10);
  c.inc({ serial: '12345', active: 'no' }, 10);
  assert.deepEqual(await series(u), [{ name: 'u', labels: {}, value: 10 }]);
  const s = await series(c);
  assert.equal(pick(s, 'c', { serial: '12345', active: 'no' }), 10);
  assert.ok(goneOrZero(s, { active: 'yes' }));
});

compat('counter: remove() by positional values or object clears that series only; a wrong count throws', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'req', help: 'h', labelNames: ['method', 'endpoint'], registers: [reg] });
  c.inc({ method: 'GET', endpoint: '/t' });
  c.inc({ method: 'POST', endpoint: '/t' });
  c.inc({ method: 'PUT', endpoint: '/t' });
  c.remove('POST', '/t');
  c.remove({ method: 'PUT', endpoint: '/t' });
  const s = await series(c);
  assert.equal(pick(s, 'req', { method: 'GET', endpoint: '/t' }), 1);
  assert.ok(goneOrZero(s, { method: 'POST' }) && goneOrZero(s, { method: 'PUT' }), JSON.stringify(s));
  assert.throws(() => c.remove('GET'));
  c.inc({ method: 'POST', endpoint: '/t' });
  assert.equal(pick(await series(c), 'req', { method: 'POST', endpoint: '/t' }), 1, 'a removed series starts again from 0');
});

// ---------------------------------------------------------------------------------------------
// Gauge (prom-client test/gaugeTest.js)

compat('gauge: starts at 0; set, inc and dec with and without amounts; set(0) and inc(0) are not 1', async ({ p, reg }) => {
  const g = new p.Gauge({ name: 'g', help: 'h', registers: [reg] });
  const v = async () => (await series(g))[0].value;
  assert.equal(await v(), 0);
  g.set(10);
  assert.equal(await v(), 10);
  g.inc();
  assert.equal(await v(), 11);
  g.inc(5);
  assert.equal(await v(), 16);
  g.dec();
  assert.equal(await v(), 15);
  g.dec(20);
  assert.equal(await v(), -5);
  g.inc(0);
  assert.equal(await v(), -5);
  g.set(0);
  assert.equal(await v(), 0);
  g.set(-1.25);
  assert.equal(await v(), -1.25);
  assert.equal((await series(g)).length, 1);
});

compat('gauge: labelled set/inc/dec through labels() (positional and object) and with a labels argument', async ({ p, reg }) => {
  const g = new p.Gauge({ name: 'g', help: 'h', labelNames: ['code'], registers: [reg] });
  assert.deepEqual(await series(g), []);
  g.set({ code: '200' }, 20);
  g.labels('200').inc();
  assert.equal(pick(await series(g), 'g', { code: '200' }), 21);
  g.labels('200').dec(2);
  assert.equal(pick(await series(g), 'g', { code: '200' }), 19);
  g.labels({ code: '200' }).set(500);
  g.inc({ code: '404' }, 3);
  g.dec({ code: '404' });
  const s = await series(g);
  assert.equal(s.length, 2);
  assert.equal(pick(s, 'g', { code: '200' }), 500);
  assert.equal(pick(s, 'g', { code: '404' }), 2);
  assert.throws(() => g.set({ nope: '1' }, 1));
  assert.throws(() => g.labels('200', 'x').set(1));
});

compat('gauge: setToCurrentTime() sets the Unix time in seconds (unlabelled, labels(), labels argument)', async ({ p, reg }) => {
  const u = new p.Gauge({ name: 'u', help: 'h', registers: [reg] });
  const g = new p.Gauge({ name: 'g', help: 'h', labelNames: ['code'], registers: [reg] });
  const before = Date.now() / 1000;
  u.setToCurrentTime();
  g.labels('200').setToCurrentTime();
  g.setToCurrentTime({ code: '500' });
  const after = Date.now() / 1000;
  for (const [m, labels] of [[u, {}], [g, { code: '200' }], [g, { code: '500' }]]) {
    const v = pick(await series(m), m === u ? 'u' : 'g', labels);
    assert.ok(v >= before && v <= after, `${v} in [${before}, ${after}]`);
  }
});

compat('gauge: startTimer() end() sets the gauge to the elapsed seconds and returns them; start and end labels merge; start labels are not mutated', async ({ p, reg }) => {
  const u = new p.Gauge({ name: 'u', help: 'h', registers: [reg] });
  const g = new p.Gauge({ name: 'g', help: 'h', labelNames: ['code', 'success'], registers: [reg] });
  const endU = u.startTimer();
  const start = { code: '200' };
  const endG = g.startTimer(start);
  const endL = g.labels('201', 'yes').startTimer();
  await sleep(30);
  const d = endU();
  const dg = endG({ success: 'SUCCESS' });
  const dl = endL();
  for (const x of [d, dg, dl]) assert.ok(typeof x === 'number' && x >= 0.02 && x < 10, `elapsed ${x} s`);
  assert.equal((await series(u))[0].value, d);
  const s = await series(g);
  assert.equal(pick(s, 'g', { code: '200', success: 'SUCCESS' }), dg);
  assert.equal(pick(s, 'g', { code: '201', success: 'yes' }), dl);
  assert.deepEqual(start, { code: '200' });
});

compat('gauge: a non-number value throws', ({ p, reg }) => {
  const g = new p.Gauge({ name: 'g', help: 'h', registers: [reg] });
  assert.throws(() => g.set('asd'), TypeError);
});

compat('gauge: reset() puts an unlabelled gauge back to 0 and a labelled one\'s series to nothing or 0; remove() clears one series', async ({ p, reg }) => {
  const u = new p.Gauge({ name: 'u', help: 'h', registers: [reg] });
  const g = new p.Gauge({ name: 'g', help: 'h', labelNames: ['code'], registers: [reg] });
  u.set(12);
  g.set({ code: '200' }, 20);
  g.set({ code: '400' }, 0);
  g.set({ code: '500' }, 5);
  g.remove('200');
  let s = await series(g);
  assert.ok(goneOrZero(s, { code: '200' }), JSON.stringify(s));
  assert.equal(pick(s, 'g', { code: '400' }), 0);
  assert.equal(pick(s, 'g', { code: '500' }), 5);
  g.remove({ code: '500' });
  assert.ok(goneOrZero(await series(g), {}));
  g.set({ code: '500' }, 1);
  u.reset();
  g.reset();
  assert.deepEqual(await series(u), [{ name: 'u', labels: {}, value: 0 }]);
  assert.ok(goneOrZero(await series(g), {}));
  g.inc({ code: '500' });
  s = await series(g);
  assert.equal(pick(s, 'g', { code: '500' }), 1);
});

// ---------------------------------------------------------------------------------------------
// Histogram (prom-client test/histogramTest.js)

compat('histogram: default buckets are prom-client\'s; a new unlabelled histogram exports zeros', async ({ p, reg }) => {
  const h = new p.Histogram({ name: 'h', help: 'h', registers: [reg] });
  const s = await series(h);
  assert.deepEqual(buckets(s, 'h'), [...DEFAULT_BUCKETS.map((b) => [String(b), 0]), ['+Inf', 0]]);
  assert.equal(pick(s, 'h_sum'), 0);
  assert.equal(pick(s, 'h_count'), 0);
  assert.equal(s.length, DEFAULT_BUCKETS.length + 3);
});

compat('histogram: custom buckets are exported in increasing order with +Inf last', async ({ p, reg }) => {
  const h = new p.Histogram({ name: 'h', help: 'h', buckets: [1, 5], registers: [reg] });
  h.observe(1.5);
  assert.deepEqual(buckets(await series(h), 'h'), [['1', 0], ['5', 1], ['+Inf', 1]]);
});

compat('histogram: bucket bounds are upper-inclusive (le), 0 lands in the first bucket, above the last bound only in +Inf', async ({ p, reg }) => {
  const h = new p.Histogram({ name: 'h', help: 'h', buckets: [1, 2, 5], registers: [reg] });
  h.observe(1);
  assert.deepEqual(buckets(await series(h), 'h'), [['1', 1], ['2', 1], ['5', 1], ['+Inf', 1]]);
  h.observe(2);
  assert.deepEqual(buckets(await series(h), 'h'), [['1', 1], ['2', 2], ['5', 2], ['+Inf', 2]]);
  h.observe(0);
  h.observe(5);
  assert.deepEqual(buckets(await series(h), 'h'), [['1', 2], ['2', 3], ['5', 4], ['+Inf', 4]]);
  h.observe(5.000001);
  h.observe(100000);
  assert.deepEqual(buckets(await series(h), 'h'), [['1', 2], ['2', 3], ['5', 4], ['+Inf', 6]]);
});

compat('histogram: bucket counts are cumulative, +Inf equals _count, _sum is the sum', async ({ p, reg }) => {
  const h = new p.Histogram({ name: 'h', help: 'h', buckets: [1, 2, 5], registers: [reg] });
  for (const v of [0.5, 1, 1.5, 3, 10]) h.observe(v);
  const s = await series(h);
  assert.deepEqual(buckets(s, 'h'), [['1', 2], ['2', 3], ['5', 4], ['+Inf', 5]]);
  assert.equal(pick(s, 'h_sum'), 16);
  assert.equal(pick(s, 'h_count'), 5);
});

compat('histogram: one series per label set through labels() (positional, object) and observe(labels, v)', async ({ p, reg }) => {
  const h = new p.Histogram({ name: 'h', help: 'h', labelNames: ['method'], buckets: [1, 5], registers: [reg] });
  assert.deepEqual(await series(h), [], 'a labelled histogram has no series before an observation');
  h.labels('get').observe(4);
  h.labels({ method: 'get' }).observe(0.5);
  h.observe({ method: 'post' }, 1);
  const s = await series(h);
  assert.deepEqual(buckets(s, 'h', { method: 'get' }), [['1', 1], ['5', 2], ['+Inf', 2]]);
  assert.deepEqual(buckets(s, 'h', { method: 'post' }), [['1', 1], ['5', 1], ['+Inf', 1]]);
  assert.equal(pick(s, 'h_sum', { method: 'get' }), 4.5);
  assert.equal(pick(s, 'h_count', { method: 'post' }), 1);
  assert.equal(s.length, 2 * 5);
});

compat('histogram: wrong label count, unknown labels and a label named le throw', ({ p, reg }) => {
  const h = new p.Histogram({ name: 'h', help: 'h', labelNames: ['method'], registers: [reg] });
  assert.throws(() => h.labels('get', '500').observe(4));
  assert.throws(() => h.observe({ nope: 'x' }, 1));
  assert.throws(() => new p.Histogram({ name: 'h2', help: 'h', labelNames: ['le'], registers: [reg] }));
});

compat('histogram: observe() of a non-number, NaN or an infinity throws', ({ p, reg }) => {
  const h = new p.Histogram({ name: 'h', help: 'h', registers: [reg] });
  assert.throws(() => h.observe('asd'), TypeError);
  assert.throws(() => h.observe(NaN), TypeError);
  assert.throws(() => h.observe(Infinity), TypeError);
});

compat('histogram: startTimer() end() observes the elapsed seconds and returns them; start and end labels merge', async ({ p, reg }) => {
  const h = new p.Histogram({ name: 'h', help: 'h', labelNames: ['method', 'success'], registers: [reg] });
  const start = { method: 'get' };
  const end = h.startTimer(start);
  const endL = h.labels('post', 'no').startTimer();
  await sleep(30);
  const d = end({ success: 'SUCCESS' });
  const dl = endL();
  for (const x of [d, dl]) assert.ok(typeof x === 'number' && x >= 0.02 && x < 10, `elapsed ${x} s`);
  const s = await series(h);
  assert.equal(pick(s, 'h_sum', { method: 'get', success: 'SUCCESS' }), d);
  assert.equal(pick(s, 'h_count', { method: 'get', success: 'SUCCESS' }), 1);
  assert.equal(pick(s, 'h_sum', { method: 'post', success: 'no' }), dl);
  assert.deepEqual(start, { method: 'get' });
});

compat('histogram: zero(labels) exports an all-zero series; a later observation adds to that series', async ({ p, reg }) => {
  const h = new p.Histogram({ name: 'h', help: 'h', labelNames: ['method'], buckets: [1], registers: [reg] });
  h.zero({ method: 'POST' });
  let s = await series(h);
  assert.deepEqual(buckets(s, 'h', { method: 'POST' }), [['1', 0], ['+Inf', 0]]);
  assert.equal(pick(s, 'h_count', { method: 'POST' }), 0);
  h.observe({ method: 'POST' }, 1);
  s = await series(h);
  assert.equal(pick(s, 'h_count', { method: 'POST' }), 1);
  assert.equal(s.length, 4);
});

compat('histogram: reset() leaves no observation in any series; observations start again from 0', async ({ p, reg }) => {
  const h = new p.Histogram({ name: 'h', help: 'h', buckets: [1], registers: [reg] });
  const l = new p.Histogram({ name: 'l', help: 'h', labelNames: ['m'], buckets: [1], registers: [reg] });
  h.observe(0.5);
  l.observe({ m: 'a' }, 0.5);
  h.reset();
  l.reset();
  assert.ok(goneOrZero(await series(h), {}), JSON.stringify(await series(h)));
  assert.ok(goneOrZero(await series(l), {}));
  h.observe(2);
  l.observe({ m: 'a' }, 3);
  let s = await series(h);
  assert.deepEqual(buckets(s, 'h'), [['1', 0], ['+Inf', 1]]);
  assert.equal(pick(s, 'h_sum'), 2);
  s = await series(l);
  assert.deepEqual(buckets(s, 'l', { m: 'a' }), [['1', 0], ['+Inf', 1]]);
  assert.equal(pick(s, 'l_sum', { m: 'a' }), 3);
});

compat('histogram: remove() clears one series; a wrong count throws', async ({ p, reg }) => {
  const h = new p.Histogram({ name: 'h', help: 'h', labelNames: ['method'], buckets: [5], registers: [reg] });
  h.labels('POST').observe(3);
  h.labels('GET').observe(4);
  h.remove('POST');
  let s = await series(h);
  assert.deepEqual(buckets(s, 'h', { method: 'GET' }), [['5', 1], ['+Inf', 1]]);
  assert.ok(goneOrZero(s, { method: 'POST' }), JSON.stringify(s));
  h.remove({ method: 'GET' });
  s = await series(h);
  assert.ok(goneOrZero(s, {}));
  assert.throws(() => h.remove('GET', '/foo'));
  h.observe({ method: 'GET' }, 6);
  assert.deepEqual(buckets(await series(h), 'h', { method: 'GET' }), [['5', 0], ['+Inf', 1]]);
});

compat('histogram: exposition has TYPE histogram, cumulative _bucket lines with le last-to-+Inf, then _sum and _count per label set', async ({ p, reg }) => {
  const h = new p.Histogram({ name: 'http_request_duration_seconds', help: 'Duration', labelNames: ['code'], buckets: [0.1, 1], registers: [reg] });
  for (const v of [0.05, 0.1, 0.7, 3]) h.observe({ code: '200' }, v);
  h.observe({ code: '500' }, 0.2);
  const f = family(await scrape(reg), 'http_request_duration_seconds');
  assert.equal(f.type, 'histogram');
  assert.equal(f.help, 'Duration');
  const n = 'http_request_duration_seconds';
  const le = (code) => f.samples.filter((s) => s.name === `${n}_bucket` && s.labels.code === code).map((s) => [s.labels.le, s.value]);
  assert.deepEqual(le('200'), [['0.1', 2], ['1', 3], ['+Inf', 4]]);
  assert.deepEqual(le('500'), [['0.1', 0], ['1', 1], ['+Inf', 1]]);
  assert.equal(sampleValue(f, `${n}_sum`, { code: '200' }), 3.85);
  assert.equal(sampleValue(f, `${n}_count`, { code: '200' }), 4);
  assert.equal(sampleValue(f, `${n}_sum`, { code: '500' }), 0.2);
  assert.equal(sampleValue(f, `${n}_count`, { code: '500' }), 1);
  assert.equal(f.samples.length, 10);
});

// ---------------------------------------------------------------------------------------------
// Summary (prom-client test/summaryTest.js)
//
// Quantiles differ by design: prom-client keeps a t-digest per series; ours keeps a mergeable
// sketch with 2 % relative accuracy (src/multiprocess/sketch.ts, so processes' summaries merge).
// Cases therefore check each quantile against the data's exact quantile: the estimate must lie
// within 2 % of the order statistics around rank q (from floor(q*(n-1)) to ceil(q*n), covering
// the nearest-rank and interpolating definitions). prom-client's own exact expectations on tiny
// data sets (e.g. 80 as the median of 100,100,100,50,50: t-digest interpolation) are not ported.

const TOLERANCE = 0.02;
function exactBounds(sorted, q) {
  const n = sorted.length;
  const lo = sorted[Math.max(0, Math.floor(q * (n - 1)))];
  const hi = sorted[Math.min(n - 1, Math.ceil(q * n))];
  return [lo * (1 - TOLERANCE), hi * (1 + TOLERANCE)];
}

/** Deterministic data sets (a fixed LCG, no Math.random). */
function dataSets() {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const uniform = Array.from({ length: 1000 }, (_, i) => i + 1);
  for (let i = uniform.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [uniform[i], uniform[j]] = [uniform[j], uniform[i]];
  }
  const exponential = Array.from({ length: 5000 }, () => -Math.log(1 - rand()) * 0.2); // latencies, mean 200 ms
  const logNormal = Array.from({ length: 3000 }, () => Math.exp(Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())) * 0.05);
  return { uniform, exponential, logNormal };
}

compat('summary: one observation is every default percentile; _sum and _count; 9 series in order', async ({ p, reg }) => {
  const s = new p.Summary({ name: 's', help: 'h', registers: [reg] });
  s.observe(100);
  const l = await series(s);
  assert.deepEqual(l.map((x) => x.name), [...DEFAULT_PERCENTILES.map(() => 's'), 's_sum', 's_count']);
  assert.deepEqual(l.slice(0, 7).map((x) => x.labels.quantile), DEFAULT_PERCENTILES.map(String));
  for (const q of DEFAULT_PERCENTILES) {
    const v = pick(l, 's', { quantile: q });
    assert.ok(Math.abs(v - 100) <= 100 * TOLERANCE, `q${q}: ${v}`);
  }
  assert.equal(pick(l, 's_sum'), 100);
  assert.equal(pick(l, 's_count'), 1);
});

compat('summary: a new unlabelled summary exports 0 for every quantile, _sum and _count; observing 0 counts', async ({ p, reg }) => {
  const s = new p.Summary({ name: 's', help: 'h', registers: [reg] });
  const l = await series(s);
  assert.equal(l.length, 9);
  for (const x of l) assert.equal(x.value, 0, JSON.stringify(x));
  s.observe(0);
  assert.equal(pick(await series(s), 's_count'), 1);
});

for (const [set, qs] of [
  ['uniform', DEFAULT_PERCENTILES],
  ['exponential', DEFAULT_PERCENTILES],
  ['logNormal', [0.5, 0.9, 0.99]],
]) {
  compat(`summary: quantiles of a known ${set} data set are within ${TOLERANCE * 100} % of the exact quantiles; _sum and _count exact`, async ({ p, reg }) => {
    const data = dataSets()[set];
    const s = new p.Summary({ name: 's', help: 'h', percentiles: qs, registers: [reg] });
    for (const v of data) s.observe(v);
    const sorted = [...data].sort((a, b) => a - b);
    const l = await series(s);
    for (const q of qs) {
      const v = pick(l, 's', { quantile: q });
      const [lo, hi] = exactBounds(sorted, q);
      assert.ok(v >= lo && v <= hi, `${set} q${q}: ${v} not in [${lo}, ${hi}]`);
    }
    const sum = data.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(pick(l, 's_sum') - sum) <= Math.abs(sum) * 1e-12, `sum ${pick(l, 's_sum')} vs ${sum}`);
    assert.equal(pick(l, 's_count'), data.length);
  });
}

compat('summary: with few observations a high quantile is their maximum (nearest rank), as prom-client reports', async ({ p, reg }) => {
  for (const data of [[1, 2], [1, 2, 3, 4], Array.from({ length: 10 }, (_, i) => i + 1)]) {
    const s = new p.Summary({ name: `few_${data.length}`, help: 'h', percentiles: [0.99], registers: [reg] });
    for (const v of data) s.observe(v);
    const v = pick(await series(s), s.name, { quantile: 0.99 });
    const max = Math.max(...data);
    assert.ok(Math.abs(v - max) <= max * TOLERANCE, `q0.99 of ${data}: ${v}, want ${max}`);
  }
});

compat('summary: custom percentiles give exactly those quantile series, then _sum and _count', async ({ p, reg }) => {
  const s = new p.Summary({ name: 's', help: 'h', percentiles: [0.5, 0.9], registers: [reg] });
  for (const v of [100, 100, 100, 50, 50]) s.observe(v);
  const l = await series(s);
  assert.deepEqual(l.map((x) => [x.name, x.labels.quantile]), [['s', '0.5'], ['s', '0.9'], ['s_sum', undefined], ['s_count', undefined]]);
  // Both report 100 for q0.9 (prom-client's t-digest and ours agree here); q0.5 is 80 in
  // prom-client (interpolated between centroids), so only its range is shared.
  assert.ok(Math.abs(pick(l, 's', { quantile: 0.9 }) - 100) <= 100 * TOLERANCE);
  const median = pick(l, 's', { quantile: 0.5 });
  assert.ok(median >= 50 * (1 - TOLERANCE) && median <= 100 * (1 + TOLERANCE), `median ${median}`);
  assert.equal(pick(l, 's_sum'), 400);
  assert.equal(pick(l, 's_count'), 5);
});

compat('summary: one series per label set, each with its own quantiles, _sum and _count; quantile is a reserved label', async ({ p, reg }) => {
  const s = new p.Summary({ name: 's', help: 'h', labelNames: ['method', 'endpoint'], percentiles: [0.9], registers: [reg] });
  assert.deepEqual(await series(s), []);
  s.labels('GET', '/test').observe(50);
  s.labels({ method: 'POST', endpoint: '/test' }).observe(100);
  s.observe({ method: 'POST', endpoint: '/test' }, 100);
  const l = await series(s);
  assert.equal(l.length, 6);
  const close = (v, x) => Math.abs(v - x) <= x * TOLERANCE;
  assert.ok(close(pick(l, 's', { method: 'GET', endpoint: '/test', quantile: 0.9 }), 50));
  assert.ok(close(pick(l, 's', { method: 'POST', endpoint: '/test', quantile: 0.9 }), 100));
  assert.equal(pick(l, 's_sum', { method: 'POST', endpoint: '/test' }), 200);
  assert.equal(pick(l, 's_count', { method: 'GET', endpoint: '/test' }), 1);
  assert.throws(() => s.labels('GET').observe(1));
  assert.throws(() => s.observe({ foo: 'bar' }, 10));
  assert.throws(() => new p.Summary({ name: 's2', help: 'h', labelNames: ['quantile'], registers: [reg] }));
});

compat('summary: maxAgeSeconds/ageBuckets slide the quantile window; _sum and _count stay cumulative', async ({ p, reg }) => {
  // Real time, not mock timers: prom-client reads Date.now(), ours may read another clock.
  const s = new p.Summary({ name: 's', help: 'h', percentiles: [0.5, 0.99], maxAgeSeconds: 1, ageBuckets: 2, registers: [reg] });
  for (let i = 0; i < 10; i++) s.observe(1000);
  let l = await series(s);
  assert.ok(Math.abs(pick(l, 's', { quantile: 0.5 }) - 1000) <= 1000 * TOLERANCE);
  await sleep(1300);
  l = await series(s);
  assert.equal(pick(l, 's', { quantile: 0.5 }), 0, 'an empty window reports 0 (prom-client)');
  assert.equal(pick(l, 's', { quantile: 0.99 }), 0);
  assert.equal(pick(l, 's_count'), 10);
  for (let i = 0; i < 10; i++) s.observe(5);
  l = await series(s);
  assert.ok(Math.abs(pick(l, 's', { quantile: 0.5 }) - 5) <= 5 * TOLERANCE, `q0.5 ${pick(l, 's', { quantile: 0.5 })}`);
  assert.ok(Math.abs(pick(l, 's', { quantile: 0.99 }) - 5) <= 5 * TOLERANCE, `q0.99 ${pick(l, 's', { quantile: 0.99 })}: the old values left the window`);
  assert.equal(pick(l, 's_count'), 20);
  assert.equal(pick(l, 's_sum'), 10050);
});

compat('summary: reset() zeroes quantiles, _sum and _count but keeps the series (prom-client), labelled ones too', async ({ p, reg }) => {
  const s = new p.Summary({ name: 's', help: 'h', percentiles: [0.5], registers: [reg] });
  const l = new p.Summary({ name: 'l', help: 'h', labelNames: ['m'], percentiles: [0.5], registers: [reg] });
  s.observe(100);
  l.observe({ m: 'a' }, 100);
  s.reset();
  l.reset();
  assert.deepEqual(await series(s), [
    { name: 's', labels: { quantile: '0.5' }, value: 0 },
    { name: 's_sum', labels: {}, value: 0 },
    { name: 's_count', labels: {}, value: 0 },
  ]);
  assert.deepEqual(await series(l), [
    { name: 'l', labels: { m: 'a', quantile: '0.5' }, value: 0 },
    { name: 'l_sum', labels: { m: 'a' }, value: 0 },
    { name: 'l_count', labels: { m: 'a' }, value: 0 },
  ]);
  s.observe(7);
  assert.equal(pick(await series(s), 's_count'), 1);
});

compat('summary: startTimer() observes the elapsed seconds and returns them; remove() clears one series', async ({ p, reg }) => {
  const s = new p.Summary({ name: 's', help: 'h', labelNames: ['method', 'endpoint'], percentiles: [0.9], registers: [reg] });
  const start = { method: 'GET' };
  const end = s.startTimer(start);
  await sleep(30);
  const d = end({ endpoint: '/test' });
  assert.ok(typeof d === 'number' && d >= 0.02 && d < 10, `elapsed ${d} s`);
  assert.deepEqual(start, { method: 'GET' });
  s.labels('POST', '/test').observe(100);
  let l = await series(s);
  assert.equal(pick(l, 's_sum', { method: 'GET', endpoint: '/test' }), d);
  assert.ok(Math.abs(pick(l, 's', { method: 'GET', endpoint: '/test', quantile: 0.9 }) - d) <= d * TOLERANCE);
  s.remove('GET', '/test');
  l = await series(s);
  assert.ok(goneOrZero(l, { method: 'GET' }), JSON.stringify(l));
  assert.equal(pick(l, 's_count', { method: 'POST', endpoint: '/test' }), 1);
  assert.throws(() => s.remove('GET'));
});

compat('summary: exposition has TYPE summary, quantile-labelled samples under the family name, then _sum and _count', async ({ p, reg }) => {
  const s = new p.Summary({ name: 'rpc_seconds', help: 'RPC latency', labelNames: ['svc'], percentiles: [0.5, 0.99], registers: [reg] });
  const data = [1, 2, 3, 4];
  for (const v of data) s.observe({ svc: 'a' }, v);
  const f = family(await scrape(reg), 'rpc_seconds');
  assert.equal(f.type, 'summary');
  assert.equal(f.help, 'RPC latency');
  assert.deepEqual(f.samples.map((x) => [x.name, x.labels.quantile ?? null]), [['rpc_seconds', '0.5'], ['rpc_seconds', '0.99'], ['rpc_seconds_sum', null], ['rpc_seconds_count', null]]);
  assert.equal(sampleValue(f, 'rpc_seconds_sum', { svc: 'a' }), 10);
  assert.equal(sampleValue(f, 'rpc_seconds_count', { svc: 'a' }), 4);
  // On 4 observations prom-client's q0.99 is 4 (the maximum); ours is 3.004 (the order statistic
  // at rank floor(0.99 * 3), within 2 %). Both lie within the exact bounds.
  for (const q of [0.5, 0.99]) {
    const v = sampleValue(f, 'rpc_seconds', { svc: 'a', quantile: String(q) });
    const [lo, hi] = exactBounds(data, q);
    assert.ok(v >= lo && v <= hi, `q${q}: ${v} not in [${lo}, ${hi}]`);
  }
});

// ---------------------------------------------------------------------------------------------
// Labels in the exposition

compat('labels: label values escape \\, " and newline in the exposition, and parse back unchanged', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'c', help: 'h', labelNames: ['path'], registers: [reg] });
  const raw = 'a"b\\c\nd';
  c.inc({ path: raw });
  const text = await reg.metrics();
  assert.ok(text.split('\n').includes('c{path="a\\"b\\\\c\\nd"} 1'), text);
  assert.equal(sampleValue(family(parse(text), 'c'), 'c', { path: raw }), 1);
});

compat('labels: a label left out of the labels object is absent from the series, not empty', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'c', help: 'h', labelNames: ['method', 'code'], registers: [reg] });
  c.inc({ method: 'GET' });
  assert.deepEqual(await series(c), [{ name: 'c', labels: { method: 'GET' }, value: 1 }]);
  assert.deepEqual(family(await scrape(reg), 'c').samples, [{ name: 'c', labels: { method: 'GET' }, value: 1 }]);
});

compat('labels: numbers as label values are exported as their decimal text; positional values follow labelNames order', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'c', help: 'h', labelNames: ['z', 'a'], registers: [reg] });
  c.labels(200, 'x').inc();
  c.inc({ z: 1.5, a: 'y' });
  const f = family(await scrape(reg), 'c');
  assert.equal(sampleValue(f, 'c', { z: '200', a: 'x' }), 1);
  assert.equal(sampleValue(f, 'c', { z: '1.5', a: 'y' }), 1);
});

compat('labels: a child from labels() keeps working after reset() and remove() of its series', async ({ p, reg }) => {
  // A store that caches a child's slot must not let a reset or remove orphan it.
  const c = new p.Counter({ name: 'c', help: 'h', labelNames: ['m'], registers: [reg] });
  const g = new p.Gauge({ name: 'g', help: 'h', labelNames: ['m'], registers: [reg] });
  const h = new p.Histogram({ name: 'h', help: 'h', labelNames: ['m'], buckets: [1], registers: [reg] });
  const [cc, gc, hc] = [c.labels('a'), g.labels('a'), h.labels('a')];
  cc.inc(5);
  gc.set(5);
  hc.observe(0.5);
  c.reset();
  g.reset();
  h.reset();
  cc.inc();
  gc.inc();
  hc.observe(2);
  assert.deepEqual(await series(c), [{ name: 'c', labels: { m: 'a' }, value: 1 }]);
  assert.deepEqual(await series(g), [{ name: 'g', labels: { m: 'a' }, value: 1 }]);
  assert.deepEqual(buckets(await series(h), 'h', { m: 'a' }), [['1', 0], ['+Inf', 1]]);
  c.remove('a');
  g.remove('a');
  h.remove('a');
  cc.inc(2);
  gc.set(3);
  hc.observe(0.1);
  assert.deepEqual(await series(c), [{ name: 'c', labels: { m: 'a' }, value: 2 }]);
  assert.deepEqual(await series(g), [{ name: 'g', labels: { m: 'a' }, value: 3 }]);
  assert.deepEqual(buckets(await series(h), 'h', { m: 'a' }), [['1', 1], ['+Inf', 1]]);
});

// ---------------------------------------------------------------------------------------------
// collect() callbacks

compat('collect: a sync collect() runs with the metric as this before get() and before registry.metrics()', async ({ p, reg }) => {
  let calls = 0;
  const g = new p.Gauge({
    name: 'g',
    help: 'h',
    registers: [reg],
    collect() {
      calls++;
      this.set(calls * 10);
    },
  });
  assert.equal((await series(g))[0].value, 10);
  assert.equal(sampleValue(family(await scrape(reg), 'g'), 'g'), 20);
  assert.equal(calls, 2, 'once per get() and once per metrics()');
  assert.ok(g instanceof p.Gauge);
});

compat('collect: an async collect() is awaited before get(), metrics() and getMetricsAsJSON()', async ({ p, reg }) => {
  const g = new p.Gauge({
    name: 'g',
    help: 'h',
    labelNames: ['src'],
    registers: [reg],
    async collect() {
      await sleep(5);
      this.labels('db').set(7);
    },
  });
  const h = new p.Histogram({
    name: 'h',
    help: 'h',
    buckets: [1],
    registers: [reg],
    async collect() {
      await sleep(5);
      this.observe(0.5);
    },
  });
  assert.deepEqual(await series(g), [{ name: 'g', labels: { src: 'db' }, value: 7 }]);
  const fams = await scrape(reg);
  assert.equal(sampleValue(family(fams, 'g'), 'g', { src: 'db' }), 7);
  assert.equal(sampleValue(family(fams, 'h'), 'h_count'), 1);
  const json = await reg.getMetricsAsJSON();
  assert.equal(json.find((m) => m.name === 'h').values.find((v) => v.metricName === 'h_count').value, 2);
});

// ---------------------------------------------------------------------------------------------
// Registry (prom-client test/registerTest.js)

compat('registry: contentType is the 0.0.4 text type; metrics() resolves to text ending in a newline, HELP then TYPE per family', async ({ p, reg }) => {
  assert.equal(reg.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  const c = new p.Counter({ name: 'test_metric', help: 'A test metric', labelNames: ['label', 'code'], registers: [reg] });
  c.inc({ label: 'hello', code: '303' }, 12);
  c.inc({ label: 'bye', code: '404' }, 34);
  const text = await reg.metrics();
  assert.ok(text.endsWith('\n'));
  const lines = text.split('\n');
  assert.equal(lines[0], '# HELP test_metric A test metric');
  assert.equal(lines[1], '# TYPE test_metric counter');
  const f = family(parse(text), 'test_metric');
  assert.deepEqual(f.samples, [
    { name: 'test_metric', labels: { label: 'hello', code: '303' }, value: 12 },
    { name: 'test_metric', labels: { label: 'bye', code: '404' }, value: 34 },
  ]);
});

compat('registry: every metric type is a family with its TYPE; unlabelled ones are exported at 0, labelled ones without series as HELP/TYPE only', async ({ p, reg }) => {
  new p.Counter({ name: 'counter', help: 'help', registers: [reg] });
  new p.Gauge({ name: 'gauge', help: 'help', registers: [reg] });
  new p.Histogram({ name: 'histogram', help: 'help', registers: [reg] });
  new p.Summary({ name: 'summary', help: 'help', registers: [reg] });
  new p.Counter({ name: 'lcounter', help: 'help', labelNames: ['label'], registers: [reg] });
  new p.Histogram({ name: 'lhistogram', help: 'help', labelNames: ['label'], registers: [reg] });
  const fams = await scrape(reg);
  assert.deepEqual(fams.map((f) => [f.name, f.type, f.help]).sort(), [
    ['counter', 'counter', 'help'],
    ['gauge', 'gauge', 'help'],
    ['histogram', 'histogram', 'help'],
    ['lcounter', 'counter', 'help'],
    ['lhistogram', 'histogram', 'help'],
    ['summary', 'summary', 'help'],
  ]);
  assert.deepEqual(family(fams, 'counter').samples, [{ name: 'counter', labels: {}, value: 0 }]);
  assert.deepEqual(family(fams, 'gauge').samples, [{ name: 'gauge', labels: {}, value: 0 }]);
  assert.equal(family(fams, 'histogram').samples.length, DEFAULT_BUCKETS.length + 3);
  assert.ok(family(fams, 'histogram').samples.every((s) => s.value === 0));
  assert.equal(family(fams, 'summary').samples.length, DEFAULT_PERCENTILES.length + 2);
  assert.deepEqual(family(fams, 'lcounter').samples, []);
  assert.deepEqual(family(fams, 'lhistogram').samples, []);
});

compat('registry: a counter named *_total keeps its name in the 0.0.4 exposition', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'http_requests_total', help: 'Requests', registers: [reg] });
  c.inc(3);
  const fams = await scrape(reg);
  assert.deepEqual(fams.map((f) => f.name), ['http_requests_total']);
  assert.equal(sampleValue(family(fams, 'http_requests_total'), 'http_requests_total'), 3);
});

compat('registry: families come out in registration order', async ({ p, reg }) => {
  for (const [T, name] of [[p.Gauge, 'zeta'], [p.Counter, 'alpha'], [p.Histogram, 'mid'], [p.Summary, 'beta']]) new T({ name, help: 'h', registers: [reg] });
  assert.deepEqual((await scrape(reg)).map((f) => f.name), ['zeta', 'alpha', 'mid', 'beta']);
  assert.deepEqual((await reg.getMetricsAsJSON()).map((m) => m.name), ['zeta', 'alpha', 'mid', 'beta']);
});

compat('registry: registerMetric() takes any object with a name and an async get() (a custom collector); +Inf, -Inf and NaN values', async ({ p, reg }) => {
  reg.registerMetric({
    name: 'custom',
    async get() {
      return { name: 'custom', help: 'A custom collector', type: 'gauge', values: [{ value: Infinity, labels: { k: 'inf' } }, { value: -Infinity, labels: { k: 'ninf' } }, { value: NaN, labels: { k: 'nan' } }, { value: 2, labels: { k: 'two' } }] };
    },
  });
  const text = await reg.metrics();
  const lines = text.split('\n');
  assert.ok(lines.includes('custom{k="inf"} +Inf'), text);
  assert.ok(lines.includes('custom{k="ninf"} -Inf'), text);
  const f = family(parse(text), 'custom');
  assert.equal(f.type, 'gauge');
  assert.equal(f.help, 'A custom collector');
  assert.ok(Number.isNaN(sampleValue(f, 'custom', { k: 'nan' }))); // prom-client writes "Nan"; parsers take any case
  assert.equal(sampleValue(f, 'custom', { k: 'two' }), 2);
});

compat('registry: HELP text escapes \\ and newline (not quotes) and parses back unchanged', async ({ p, reg }) => {
  const help = 'line one\nback\\slash "quoted"';
  new p.Gauge({ name: 'g', help, registers: [reg] });
  const text = await reg.metrics();
  assert.equal(text.split('\n')[0], '# HELP g line one\\nback\\\\slash "quoted"');
  assert.equal(family(parse(text), 'g').help, help);
});

compat('registry: setDefaultLabels() adds labels to every exported sample and to getMetricsAsJSON(), not to the metric\'s get(); a metric\'s own label wins', async ({ p, reg }) => {
  reg.setDefaultLabels({ env: 'development', testLabel: 'testValue' });
  const c = new p.Counter({ name: 'c', help: 'h', labelNames: ['type', 'testLabel'], registers: [reg] });
  const h = new p.Histogram({ name: 'h', help: 'h', labelNames: ['type'], buckets: [1], registers: [reg] });
  c.labels({ type: 'myType' }).inc();
  c.inc({ type: 'other', testLabel: 'overlapped' }, 2);
  h.labels('myType').observe(1);
  const fams = await scrape(reg);
  const fc = family(fams, 'c');
  assert.equal(sampleValue(fc, 'c', { type: 'myType', env: 'development', testLabel: 'testValue' }), 1);
  assert.equal(sampleValue(fc, 'c', { type: 'other', env: 'development', testLabel: 'overlapped' }), 2);
  const fh = family(fams, 'h');
  assert.equal(sampleValue(fh, 'h_bucket', { le: '1', type: 'myType', env: 'development', testLabel: 'testValue' }), 1);
  assert.equal(sampleValue(fh, 'h_count', { type: 'myType', env: 'development', testLabel: 'testValue' }), 1);
  // Before getMetricsAsJSON(): prom-client's writes the default labels into the metric's own
  // value objects, so a later get() would show them.
  assert.deepEqual((await c.get()).values.map((v) => v.labels.env), [undefined, undefined]);
  const json = await reg.getMetricsAsJSON();
  const jc = json.find((m) => m.name === 'c');
  assert.deepEqual(
    jc.values.map((v) => str(v.labels)).sort((a, b) => (a.type < b.type ? -1 : 1)),
    [
      { type: 'myType', env: 'development', testLabel: 'testValue' },
      { type: 'other', env: 'development', testLabel: 'overlapped' },
    ],
  );
});

compat('registry: getSingleMetric() returns the instance; getSingleMetricAsString() resolves to that family\'s text', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'c', help: 'h', registers: [reg] });
  new p.Gauge({ name: 'g', help: 'h', registers: [reg] });
  assert.equal(reg.getSingleMetric('c'), c);
  assert.equal(reg.getSingleMetric('nope'), undefined);
  c.inc(4);
  const text = reg.getSingleMetricAsString('c');
  assert.ok(text instanceof Promise);
  // prom-client's single-metric text has no final newline; a scrape body would.
  const s = await text;
  const fams = parse(s.endsWith('\n') ? s : `${s}\n`);
  assert.deepEqual(fams.map((f) => f.name), ['c']);
  assert.equal(sampleValue(fams[0], 'c'), 4);
});

compat('registry: removeSingleMetric() removes one metric from the exposition; its name can be registered again', async ({ p, reg }) => {
  new p.Counter({ name: 'a', help: 'h', registers: [reg] });
  new p.Counter({ name: 'b', help: 'h', registers: [reg] });
  reg.removeSingleMetric('a');
  assert.deepEqual((await scrape(reg)).map((f) => f.name), ['b']);
  assert.equal(reg.getSingleMetric('a'), undefined);
  assert.deepEqual((await reg.getMetricsAsJSON()).map((m) => m.name), ['b']);
  const again = new p.Gauge({ name: 'a', help: 'h', registers: [reg] });
  assert.equal(reg.getSingleMetric('a'), again);
});

compat('registry: clear() removes every metric and the default labels', async ({ p, reg }) => {
  reg.setDefaultLabels({ env: 'x' });
  new p.Counter({ name: 'a', help: 'h', registers: [reg] });
  new p.Histogram({ name: 'b', help: 'h', registers: [reg] });
  reg.clear();
  assert.deepEqual(await scrape(reg), []);
  assert.deepEqual(await reg.getMetricsAsJSON(), []);
  new p.Counter({ name: 'a', help: 'h', registers: [reg] });
  assert.deepEqual(family(await scrape(reg), 'a').samples, [{ name: 'a', labels: {}, value: 0 }]);
});

compat('registry: resetMetrics() resets every registered metric', async ({ p, reg }) => {
  const counter = new p.Counter({ name: 'test_counter', help: 'h', labelNames: ['serial'], registers: [reg] });
  const gauge = new p.Gauge({ name: 'test_gauge', help: 'h', labelNames: ['level'], registers: [reg] });
  const histo = new p.Histogram({ name: 'test_histo', help: 'h', registers: [reg] });
  const summ = new p.Summary({ name: 'test_summ', help: 'h', percentiles: [0.5], registers: [reg] });
  const plain = new p.Counter({ name: 'plain', help: 'h', registers: [reg] });
  counter.inc({ serial: '12345' }, 12);
  gauge.set({ level: 'low' }, -12);
  histo.observe(1);
  summ.observe(100);
  plain.inc(3);
  reg.resetMetrics();
  for (const name of ['test_counter', 'test_gauge', 'test_histo', 'test_summ', 'plain']) {
    const l = await series(reg.getSingleMetric(name));
    assert.ok(goneOrZero(l, {}), `${name}: ${JSON.stringify(l)}`);
  }
  assert.equal((await plain.get()).values.length, 1);
  assert.equal((await summ.get()).values.length, 3);
});

compat('registry: a second metric with a registered name throws; registering the same instance again does not', ({ p, reg }) => {
  const c = new p.Counter({ name: 'test_metric', help: 'h', registers: [reg] });
  assert.throws(() => new p.Counter({ name: 'test_metric', help: 'h', registers: [reg] }), /already been registered/);
  assert.throws(() => new p.Gauge({ name: 'test_metric', help: 'h', registers: [reg] }), /already been registered/);
  reg.registerMetric(c);
  assert.equal(reg.getSingleMetric('test_metric'), c);
});

compat('registry: registers: [] registers nowhere; registerMetric() adds it later; it works standalone', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'compat_unregistered_total', help: 'h', registers: [] });
  c.inc();
  assert.equal(p.register.getSingleMetric('compat_unregistered_total'), undefined);
  assert.equal((await p.register.getMetricsAsJSON()).find((m) => m.name === 'compat_unregistered_total'), undefined);
  assert.deepEqual(await series(c), [{ name: 'compat_unregistered_total', labels: {}, value: 1 }]);
  assert.deepEqual(await scrape(reg), []);
  reg.registerMetric(c);
  assert.equal(sampleValue(family(await scrape(reg), 'compat_unregistered_total'), 'compat_unregistered_total'), 1);
});

compat('registry: the global register\'s metrics() leaves out metrics created with registers: [] or only in other registries', async ({ p, reg }) => {
  new p.Counter({ name: 'compat_nowhere_total', help: 'h', registers: [] }).inc();
  new p.Counter({ name: 'compat_elsewhere_total', help: 'h', registers: [reg] }).inc();
  const names = parse(await p.register.metrics()).map((f) => f.name);
  assert.ok(!names.includes('compat_nowhere_total'), names.join(','));
  assert.ok(!names.includes('compat_elsewhere_total'), names.join(','));
});

compat('reset() and remove() forget series: nothing is exported for them until written again (prom-client)', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'c', help: 'h', labelNames: ['m'], registers: [reg] });
  const g = new p.Gauge({ name: 'g', help: 'h', labelNames: ['m'], registers: [reg] });
  const h = new p.Histogram({ name: 'h', help: 'h', labelNames: ['m'], buckets: [1], registers: [reg] });
  const u = new p.Histogram({ name: 'u', help: 'h', buckets: [1], registers: [reg] });
  const s = new p.Summary({ name: 's', help: 'h', labelNames: ['m'], percentiles: [0.5], registers: [reg] });
  for (const m of ['a', 'b']) {
    c.inc({ m });
    g.set({ m }, 1);
    h.observe({ m }, 1);
    s.observe({ m }, 1);
  }
  u.observe(1);
  for (const x of [c, g, h, s]) x.remove('a');
  const only = async (x) => [...new Set((await series(x)).map((v) => v.labels.m))];
  for (const x of [c, g, h, s]) assert.deepEqual(await only(x), ['b'], x.name);
  reg.resetMetrics();
  for (const x of [c, g, h]) assert.deepEqual(await series(x), [], x.name);
  assert.deepEqual(await series(u), [], 'an unlabelled histogram too, until its next observation');
}, { ours: 'ours: reset(), remove() and resetMetrics() keep each series at 0 (the store cannot forget a series), so they stay in get() and the exposition' });

compat('registry: a metric created again under a used name (another registry, after clear() or removeSingleMetric()) starts from nothing', async ({ p, reg }) => {
  // prom-client's values live in the metric object; a new object under the same name is new.
  const first = new p.Counter({ name: 'reused_total', help: 'h', labelNames: ['k'], registers: [reg] });
  first.inc({ k: 'a' }, 5);
  const other = new p.Registry();
  const second = new p.Counter({ name: 'reused_total', help: 'h', labelNames: ['k'], registers: [other] });
  assert.deepEqual(await series(second), []);
  assert.deepEqual(family(await scrape(other), 'reused_total').samples, []);
  reg.clear();
  const third = new p.Counter({ name: 'reused_total', help: 'h', labelNames: ['k'], registers: [reg] });
  third.inc({ k: 'b' });
  assert.deepEqual(family(await scrape(reg), 'reused_total').samples, [{ name: 'reused_total', labels: { k: 'b' }, value: 1 }]);
  assert.deepEqual(await series(first), [{ name: 'reused_total', labels: { k: 'a' }, value: 5 }], 'the first object keeps its own values');
}, { ours: "ours: get() reads the store by name, so the first object, once replaced, shows the current metric's values (docs/prometheus-drop-in.md)" });

compat('registry: a histogram created again under a used name with other buckets uses its own buckets', async ({ p, reg }) => {
  const first = new p.Histogram({ name: 'lat', help: 'h', registers: [reg] });
  first.observe(0.3);
  reg.removeSingleMetric('lat');
  const second = new p.Histogram({ name: 'lat', help: 'h', buckets: [1, 5], registers: [reg] });
  for (const v of [0.5, 1.5, 7]) second.observe(v);
  const f = family(await scrape(reg), 'lat');
  assert.deepEqual(
    f.samples.map((x) => [x.name, x.labels.le ?? null, x.value]),
    [['lat_bucket', '1', 1], ['lat_bucket', '5', 2], ['lat_bucket', '+Inf', 3], ['lat_sum', null, 9], ['lat_count', null, 3]],
  );
});

compat('registry: a summary created again under a used name with other percentiles uses its own percentiles and counts', async ({ p, reg }) => {
  const first = new p.Summary({ name: 'dur', help: 'h', percentiles: [0.5], registers: [] });
  first.observe(10);
  const second = new p.Summary({ name: 'dur', help: 'h', percentiles: [0.9, 0.99], registers: [reg] });
  second.observe(20);
  const l = await series(second);
  assert.deepEqual(l.map((x) => [x.name, x.labels.quantile]), [['dur', '0.9'], ['dur', '0.99'], ['dur_sum', undefined], ['dur_count', undefined]]);
  assert.equal(pick(l, 'dur_sum'), 20);
  assert.equal(pick(l, 'dur_count'), 1);
});

compat('registry: a gauge created under a name a counter used leaves every other metric alone', async ({ p, reg }) => {
  new p.Counter({ name: 'x', help: 'h', registers: [] }).inc(5);
  const y = new p.Counter({ name: 'y', help: 'h', registers: [reg] });
  const g = new p.Gauge({ name: 'x', help: 'h', registers: [reg] });
  g.set(3);
  y.inc();
  const fams = await scrape(reg);
  assert.equal(sampleValue(family(fams, 'y'), 'y'), 1);
  assert.equal(family(fams, 'x').type, 'gauge');
  assert.equal(sampleValue(family(fams, 'x'), 'x'), 3);
});

compat('registry: without registers a metric goes to the global register; with two registries it is in both', async ({ p, reg }) => {
  const name = 'compat_global_total';
  try {
    const c = new p.Counter({ name, help: 'h' });
    c.inc(2);
    assert.equal(p.register.getSingleMetric(name), c);
    assert.equal(sampleValue(family(parse(await p.register.metrics()), name), name), 2);
  } finally {
    p.register.removeSingleMetric(name);
  }
  const other = new p.Registry();
  const g = new p.Gauge({ name: 'g', help: 'h', registers: [reg, other] });
  g.set(5);
  assert.equal(sampleValue(family(await scrape(reg), 'g'), 'g'), 5);
  assert.equal(sampleValue(family(await scrape(other), 'g'), 'g'), 5);
});

compat('registry: getMetricsAsJSON() is the list of get() results, in registration order', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'c', help: 'a counter', labelNames: ['code'], registers: [reg] });
  new p.Gauge({ name: 'g', help: 'a gauge', registers: [reg] });
  c.inc({ code: '200' });
  const json = await reg.getMetricsAsJSON();
  assert.deepEqual(json.map((m) => [m.name, m.help, m.type, m.aggregator]), [['c', 'a counter', 'counter', 'sum'], ['g', 'a gauge', 'gauge', 'sum']]);
  assert.deepEqual(json[0].values.map((v) => [str(v.labels), v.value]), [[{ code: '200' }, 1]]);
});

// ---------------------------------------------------------------------------------------------
// get() shape and constructor validation

compat('get(): resolves to { name, help, type, values, aggregator }; aggregator defaults to sum and keeps the option', async ({ p, reg }) => {
  const c = new p.Counter({ name: 'c', help: 'hc', registers: [reg] });
  const g = new p.Gauge({ name: 'g', help: 'hg', aggregator: 'max', registers: [reg] });
  const rc = c.get();
  assert.ok(rc instanceof Promise, 'get() returns a Promise');
  const r = await rc;
  assert.deepEqual(Object.keys(r).sort(), ['aggregator', 'help', 'name', 'type', 'values']);
  assert.deepEqual([r.name, r.help, r.type, r.aggregator], ['c', 'hc', 'counter', 'sum']);
  assert.deepEqual(r.values.map((v) => [v.value, v.labels]), [[0, {}]]);
  const rg = await g.get();
  assert.deepEqual([rg.name, rg.type, rg.aggregator], ['g', 'gauge', 'max']);
});

compat('get(): histogram values carry metricName _bucket/_sum/_count, le as a number and \'+Inf\'', async ({ p, reg }) => {
  const h = new p.Histogram({ name: 'h', help: 'h', labelNames: ['code'], buckets: [0.5, 1], registers: [reg] });
  h.observe({ code: '200' }, 0.7);
  const r = await h.get();
  assert.equal(r.type, 'histogram');
  assert.deepEqual(
    r.values.map((v) => [v.metricName, v.labels, v.value]),
    [
      ['h_bucket', { le: 0.5, code: '200' }, 0],
      ['h_bucket', { le: 1, code: '200' }, 1],
      ['h_bucket', { le: '+Inf', code: '200' }, 1],
      ['h_sum', { code: '200' }, 0.7],
      ['h_count', { code: '200' }, 1],
    ],
  );
});

compat('get(): summary quantile values carry quantile as a number; _sum and _count have metricName', async ({ p, reg }) => {
  const s = new p.Summary({ name: 's', help: 'h', percentiles: [0.5], registers: [reg] });
  s.observe(3);
  const r = await s.get();
  assert.equal(r.type, 'summary');
  assert.deepEqual(r.values.map((v) => [v.metricName, v.labels]), [[undefined, { quantile: 0.5 }], ['s_sum', {}], ['s_count', {}]]);
});

compat('constructor: name and help are required; metric and label names are validated', async ({ p, reg }) => {
  assert.throws(() => new p.Counter({ name: 'c', registers: [reg] }));
  assert.throws(() => new p.Counter({ help: 'h', registers: [reg] }));
  assert.throws(() => new p.Counter({ name: 'bad-name', help: 'h', registers: [reg] }));
  assert.throws(() => new p.Counter({ name: 'c', help: 'h', labelNames: ['bad-label'], registers: [reg] }));
  assert.throws(() => new p.Gauge({ name: 'g', help: 'h', collect: 'not a function', registers: [reg] }));
  assert.deepEqual(await reg.getMetricsAsJSON(), [], 'a rejected metric is not registered');
});

// ---------------------------------------------------------------------------------------------
// Bucket helpers (prom-client test/bucketGeneratorsTest.js)

compat('linearBuckets / exponentialBuckets: the series prom-client generates; bad arguments throw', ({ p }) => {
  const near = (got, want) => {
    assert.equal(got.length, want.length, `${got} vs ${want}`);
    got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) <= Math.abs(want[i]) * 1e-12, `${got} vs ${want}`));
  };
  near(p.linearBuckets(0, 10, 5), [0, 10, 20, 30, 40]);
  near(p.linearBuckets(0.5, 0.25, 3), [0.5, 0.75, 1]);
  near(p.linearBuckets(1, 2, 1), [1]);
  near(p.exponentialBuckets(1, 2, 5), [1, 2, 4, 8, 16]);
  near(p.exponentialBuckets(0.001, 10, 4), [0.001, 0.01, 0.1, 1]);
  assert.throws(() => p.linearBuckets(0, 10, 0));
  assert.throws(() => p.exponentialBuckets(0, 2, 3));
  assert.throws(() => p.exponentialBuckets(1, 1, 3));
  assert.throws(() => p.exponentialBuckets(1, 2, 0));
});

// ---------------------------------------------------------------------------------------------
// The parser must reject what it claims to (so the exposition checks above can fail).

function parserRejectsMalformed() {
  const bad = [
    ['no final newline', 'a 1'],
    ['bad value', 'a x\n'],
    ['unknown escape', 'a{l="\\t"} 1\n'],
    ['unterminated label', 'a{l="x} 1\n'],
    ['repeated label', 'a{l="1",l="2"} 1\n'],
    ['repeated series', 'a{l="1"} 1\na{l="1"} 2\n'],
    ['TYPE twice', '# TYPE a gauge\n# TYPE a gauge\n'],
    ['TYPE after samples', 'a 1\n# TYPE a gauge\n'],
    ['split family', '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="1"} 1\n'],
    ['wrong suffix for type', '# TYPE a histogram\na 1\n'],
    ['bad type', '# TYPE a hist\n'],
    ['bad label name', 'a{1l="x"} 1\n'],
  ];
  for (const [why, text] of bad) assert.throws(() => parse(text), undefined, why);
  const fams = parse('# HELP a x\\ny\n# TYPE a histogram\na_bucket{le="+Inf"} 2\na_sum 3.5\na_count 2\n\n# TYPE b gauge\nb NaN\nb{k="v",} -Inf 123\n');
  assert.deepEqual(fams[0], { name: 'a', type: 'histogram', help: 'x\ny', samples: [{ name: 'a_bucket', labels: { le: '+Inf' }, value: 2 }, { name: 'a_sum', labels: {}, value: 3.5 }, { name: 'a_count', labels: {}, value: 2 }] });
  assert.ok(Number.isNaN(fams[1].samples[0].value));
  assert.deepEqual(fams[1].samples[1], { name: 'b', labels: { k: 'v' }, value: -Infinity, timestamp: 123 });
}

// ---------------------------------------------------------------------------------------------

// Ours keeps values in a process-wide store keyed by metric name (so that threads and processes
// merge), so cases reusing a name in one process would see each other's values. Each of ours runs
// in a node process of its own; the 'name used again' cases check the sharing itself.
const IMPLS = [
  { name: 'prom-client', load: () => require('prom-client') },
  {
    name: 'ours',
    load: () => require(OURS),
    ownProcess: true,
    missing: existsSync(OURS) ? undefined : `${OURS} not built yet (src/prometheus is not on this branch or tsc has not run)`,
  },
];

const ONE_CASE = 'PROM_COMPAT_CASE';
const MARK = '#prom-compat-result ';

/** Runs one case of ours in a child node (this file, ONE_CASE set) and rethrows its failure. */
async function inOwnProcess(title) {
  const env = { ...process.env, [ONE_CASE]: title };
  delete env.NODE_TEST_CONTEXT; // the child is no test runner's subprocess
  const { stdout, stderr } = await execFileP(process.execPath, [fileURLToPath(import.meta.url)], { env, timeout: 60_000 }).catch((err) => {
    throw new Error(`case process failed (${err.code ?? err.signal}): ${err.stderr || err.message}`);
  });
  const line = stdout.split('\n').find((l) => l.startsWith(MARK));
  if (line === undefined) throw new Error(`case process printed no result; stderr: ${stderr}`);
  const r = JSON.parse(line.slice(MARK.length));
  if (!r.ok) throw Object.assign(new Error(r.message), { stack: r.stack });
}

if (process.env[ONE_CASE] !== undefined) {
  // Child mode: one case of ours, no node:test.
  const c = cases.find((x) => x.title === process.env[ONE_CASE]);
  let r;
  try {
    if (c === undefined) throw new Error(`no case ${process.env[ONE_CASE]}`);
    const p = require(OURS);
    await c.fn({ p, reg: new p.Registry() });
    r = { ok: true };
  } catch (err) {
    r = { ok: false, message: String(err?.message ?? err), stack: String(err?.stack ?? '') };
  }
  process.stdout.write(`${MARK}${JSON.stringify(r)}\n`);
} else {
  test('prom-text parser rejects malformed exposition', parserRejectsMalformed);
  for (const impl of IMPLS) {
    if (impl.missing) console.log(`# skipping the ${impl.name} run: ${impl.missing}`);
    describe(impl.name, { skip: impl.missing }, () => {
      const p = impl.missing || impl.ownProcess ? undefined : impl.load();
      for (const c of cases) {
        const opts = impl.name === 'ours' && c.ours ? { todo: c.ours } : {};
        test(c.title, opts, () => (impl.ownProcess ? inOwnProcess(c.title) : c.fn({ p, reg: new p.Registry() })));
      }
    });
  }
}
