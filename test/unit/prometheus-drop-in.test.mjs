// The Prometheus drop-in's own additions (docs/prometheus-drop-in.md): the per-metric cap on label
// sets, exemplars from the active span, summary windows, and worker threads sharing one view.
// prom-client's behaviour is in prometheus-compat.test.mjs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const prom = require('../../dist/prometheus/index.js');
const api = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');

/** The samples of one family in a text exposition, as [name, labels string, value, exemplar]. */
function samples(text, family) {
  return text
    .split('\n')
    .filter((l) => l.startsWith(family) && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+?)(\{.*?\})? (\S+)(?: # (.*))?$/.exec(l);
      return m ? { name: m[1], labels: m[2] ?? '', value: Number(m[3]), exemplar: m[4] } : { bad: l };
    });
}

test('cap: past maxSeries label sets, new ones are dropped with one warning; existing ones still count', async () => {
  const warnings = [];
  const onWarning = (w) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    const c = new prom.Counter({ name: 'capped_total', help: 'h', labelNames: ['user'], maxSeries: 3 });
    for (let i = 0; i < 10; i++) c.inc({ user: `u${i}` });
    c.inc({ user: 'u0' }, 5);
    await new Promise((r) => setImmediate(r));
    const got = samples(await prom.register.getSingleMetricAsString('capped_total'), 'capped_total');
    assert.deepEqual(
      got.map((s) => [s.labels, s.value]),
      [
        ['{user="u0"}', 6],
        ['{user="u1"}', 1],
        ['{user="u2"}', 1],
      ],
    );
    assert.equal(warnings.filter((w) => w.includes('capped_total')).length, 1, warnings.join('\n'));
    assert.match(warnings.find((w) => w.includes('capped_total')), /cap of 3 label sets/);
  } finally {
    process.off('warning', onWarning);
  }
});

test('exemplars: with enableExemplars, an observation inside a span carries its trace and span ids (OpenMetrics)', async () => {
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const reg = new prom.Registry(prom.Registry.OPENMETRICS_CONTENT_TYPE);
  const h = new prom.Histogram({ name: 'ex_seconds', help: 'h', buckets: [0.1, 1], enableExemplars: true, registers: [reg] });
  const c = new prom.Counter({ name: 'ex_requests_total', help: 'h', enableExemplars: true, registers: [reg] });
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const spanId = 'b7ad6b7169203331';
  const span = api.trace.wrapSpanContext({ traceId, spanId, traceFlags: 1 });
  api.context.with(api.trace.setSpan(api.context.active(), span), () => {
    h.observe({ value: 0.5 });
    c.inc({ value: 2 });
  });
  h.observe({ value: 0.05 }); // no span: no exemplar for this one
  const text = await reg.metrics();
  assert.match(text, /# EOF\n$/);
  const buckets = samples(text, 'ex_seconds_bucket');
  const withEx = buckets.filter((b) => b.exemplar);
  assert.equal(withEx.length, 1, text);
  assert.equal(withEx[0].labels, '{le="1"}', 'on the bucket the value fell in');
  assert.match(withEx[0].exemplar, new RegExp(`^\\{trace_id="${traceId}",span_id="${spanId}"\\} 0\\.5 \\d+(\\.\\d+)?$`));
  const counter = samples(text, 'ex_requests_total');
  assert.equal(counter.length, 1, text);
  assert.equal(counter[0].value, 2);
  assert.match(counter[0].exemplar, new RegExp(`trace_id="${traceId}"`));
  // A text-format registry refuses exemplar metrics, as prom-client does.
  assert.throws(() => new prom.Counter({ name: 'ex_bad_total', help: 'h', enableExemplars: true }), /only on OpenMetrics registries/);
});

test('summary: quantiles are those of the whole window within 2 %, and a slice older than maxAgeSeconds leaves it', async () => {
  const s = new prom.Summary({ name: 'win_seconds', help: 'h', percentiles: [0.5, 0.9], maxAgeSeconds: 1, ageBuckets: 2 });
  for (let i = 1; i <= 1000; i++) s.observe(i);
  let got = samples(await prom.register.getSingleMetricAsString('win_seconds'), 'win_seconds');
  const q = (name, label) => got.find((x) => x.name === name && x.labels.includes(label ?? ''))?.value;
  assert.ok(Math.abs(q('win_seconds', 'quantile="0.5"') / 500 - 1) <= 0.02, JSON.stringify(got));
  assert.ok(Math.abs(q('win_seconds', 'quantile="0.9"') / 900 - 1) <= 0.02, JSON.stringify(got));
  await new Promise((r) => setTimeout(r, 1600));
  s.observe(7);
  got = samples(await prom.register.getSingleMetricAsString('win_seconds'), 'win_seconds');
  assert.equal(q('win_seconds', 'quantile="0.5"'), 7, 'only the new slice is in the window');
  assert.equal(q('win_seconds_count'), 1001, '_count stays cumulative, as in prom-client');
});

test("worker threads without the register hook: a thread's registry shows the thread, the main thread's merges it in", async () => {
  const c = new prom.Counter({ name: 'thread_local_total', help: 'h' });
  c.inc(3);
  const code = `
    const prom = require(${JSON.stringify(require.resolve('../../dist/prometheus/index.js'))});
    const c = new prom.Counter({ name: 'thread_local_total', help: 'h' });
    c.inc(100);
    prom.register.metrics().then((t) => require('node:worker_threads').parentPort.postMessage(t));
  `;
  const text = await new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.equal(samples(text, 'thread_local_total')[0].value, 100);
  // The thread's shard comes on another channel than its message: wait for it, not on a timing.
  let merged;
  for (let i = 0; i < 500 && merged !== 103; i++) {
    merged = samples(await prom.register.metrics(), 'thread_local_total')[0].value;
    if (merged !== 103) await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(merged, 103);
});

test("collectDefaultMetrics(): prom-client's names and types for what it collects, with live values", async () => {
  const reg = new prom.Registry();
  prom.collectDefaultMetrics({ register: reg, prefix: 'd_' });
  const pc = require('prom-client');
  const theirs = new pc.Registry();
  pc.collectDefaultMetrics({ register: theirs, prefix: 'd_' });
  const types = (text) => new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
  const ours = types(await reg.metrics());
  const reference = types(await theirs.metrics());
  assert.ok(ours.size >= 20, `${ours.size} families`);
  for (const [name, type] of ours) assert.equal(reference.get(name), type, `${name}: prom-client has ${reference.get(name) ?? 'no such metric'}`);
  const text = await reg.metrics();
  const value = (name) => samples(text, name).find((s) => s.name === name)?.value;
  assert.ok(value('d_process_resident_memory_bytes') > 1e6);
  assert.ok(value('d_nodejs_heap_size_used_bytes') > 1e5);
  const cpu = value('d_process_cpu_seconds_total');
  assert.ok(cpu > 0 && Math.abs(cpu - value('d_process_cpu_user_seconds_total') - value('d_process_cpu_system_seconds_total')) < 1e-6, text);
  assert.equal(samples(text, 'd_nodejs_version_info')[0].labels, `{version="${process.version}",major="${process.versions.node.split('.')[0]}",minor="${process.versions.node.split('.')[1]}",patch="${process.versions.node.split('.')[2]}"}`);
});
