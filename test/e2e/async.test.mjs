// Async tracing (docs/async-tracing.md): named functions, worker threads and timers, each a span
// and an observation of autoinstrument.async.duration / .count, received by a real OTLP decoder.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { REGISTER, ROOT, runNode } from '../helpers/run.mjs';

let receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());

let n = 0;
const service = (tag) => `async-${tag}-${n++}`;
const spansOf = (svc) => receiver.spans().filter((s) => s.resource['service.name'] === svc);
const envFor = (svc, extra = {}) => ({ OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_LOGS_EXPORTER: 'none', ...extra });

/** Every data point of metric `name` exported by `svc`, as [attributes, point]. */
function pointsOf(svc, name) {
  const out = [];
  for (const m of receiver.metrics)
    for (const rm of m.resourceMetrics ?? [])
      if (rm.resource?.attributes?.['service.name'] === svc)
        for (const sm of rm.scopeMetrics ?? [])
          for (const x of sm.metrics ?? []) if (x.name === name) for (const p of (x.histogram ?? x.sum)?.dataPoints ?? []) out.push({ metric: x, attributes: p.attributes, point: p });
  return out;
}

const JOBS = ['add', 'sendInvoices', 'failing', 'cancellable', 'slow', 'syncThrows', 'self', 'withProps', 'Klass'];
const EXPECTED_STATES = { add: 'finished', sendInvoices: 'finished', failing: 'exception', cancellable: 'cancelled', slow: 'timeout', syncThrows: 'exception', self: 'finished', withProps: 'finished' };

/** What the app printed: the wrapper kept this, arguments, return values, errors, length and name. */
function assertAppSaw(stdout) {
  const out = JSON.parse(stdout);
  assert.equal(out.sum, 5);
  assert.equal(out.invoices, 'sent 3');
  assert.equal(out.isPromise, true);
  assert.equal(out.failing, 'Error: boom');
  assert.equal(out.cancelled, 'AbortError: The operation was aborted');
  assert.equal(out.timeout, 'AbortError: The operation was aborted');
  assert.equal(out.syncThrows, 'TypeError: sync boom');
  assert.equal(out.self, true);
  assert.deepEqual(out.shape, { length: 3, name: 'withProps', extra: 42, args: [1, 2, 3], addLength: 2, addName: 'add' });
  assert.equal(out.untraced, 'plain');
  assert.equal(out.klass, 'object');
  return out;
}

const cases = [
  { mode: 'require', app: 'async-app.cjs', file: './async/jobs.cjs' },
  { mode: 'import', app: 'async-app.cjs', file: './async/jobs.cjs' },
  { mode: 'import', app: 'async-app.mjs', file: './async/jobs.mjs' },
];
for (const { mode, app, file } of cases) {
  test(`--${mode} ${app}: each call of a listed function is a child span with its state, and an observation`, async () => {
    const svc = service('fn');
    const res = await runNode(REGISTER[mode], app, { env: envFor(svc, { OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE: JOBS.map((f) => `${file}:${f}`).join(',') }) });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE: "Klass" is a class, not a function; it is not traced/);
    const out = assertAppSaw(res.stdout);
    await waitFor(() => spansOf(svc).filter((s) => s.name.startsWith('function ')).length >= 9);
    const spans = spansOf(svc).filter((s) => s.name.startsWith('function '));
    assert.deepEqual(spans.map((s) => s.name).sort(), [...Object.keys(EXPECTED_STATES), 'sendInvoices'].map((f) => `function ${f}`).sort());
    for (const s of spans) {
      const fn = s.name.slice('function '.length);
      assert.equal(s.traceId, out.traceId, `${s.name} is in the app's trace`);
      assert.equal(s.parentSpanId, out.parentId, `${s.name} is a child of the active span`);
      assert.equal(s.attributes['autoinstrument.async.state'], EXPECTED_STATES[fn], fn);
      assert.equal(s.status.code === 'STATUS_CODE_ERROR', ['exception', 'timeout'].includes(EXPECTED_STATES[fn]), `${fn} status`);
    }
    assert.ok(!spans.some((s) => s.name === 'function untraced'), 'an unlisted export is left alone');
    const failing = spans.find((s) => s.name === 'function failing');
    assert.equal(failing.events[0]?.attributes['exception.message'], 'boom');
    const durations = await waitFor(() => (pointsOf(svc, 'autoinstrument.async.duration').length > 0 ? pointsOf(svc, 'autoinstrument.async.duration') : undefined));
    assert.equal(durations[0].metric.unit, 's');
    const seen = Object.fromEntries(durations.map((d) => [`${d.attributes.name}:${d.attributes.state}`, Number(d.point.count)]));
    for (const [fn, state] of Object.entries(EXPECTED_STATES)) assert.equal(seen[`${fn}:${state}`], fn === 'sendInvoices' ? 2 : 1, `${fn}:${state}`);
    assert.ok(durations.every((d) => d.attributes.type === 'function'));
    const counts = pointsOf(svc, 'autoinstrument.async.count');
    assert.equal(counts.find((c) => c.attributes.name === 'sendInvoices' && c.attributes.state === 'finished')?.point.asDouble, 2);
  });
}

for (const { mode, app } of [
  { mode: 'require', app: 'async-pkg-app.cjs' },
  { mode: 'import', app: 'async-pkg-app.mjs' },
]) {
  test(`--${mode} ${app}: pkg:fn traces a package's export`, async () => {
    const svc = service('pkg');
    const res = await runNode(REGISTER[mode], app, { env: envFor(svc, { OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE: 'async-fixture-pkg:charge' }) });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'charged 5 package sent 1 2\n');
    await waitFor(() => spansOf(svc).length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(spansOf(svc).map((s) => s.name).sort(), ['function charge', 'parent']);
  });

  test(`--${mode} ${app}: an unqualified name traces the app's own exports, not node_modules'`, async () => {
    const svc = service('anywhere');
    const res = await runNode(REGISTER[mode], app, { env: envFor(svc, { OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE: 'sendInvoices,add' }) });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'charged 5 package sent 1 2\n');
    await waitFor(() => spansOf(svc).length >= 3);
    await new Promise((r) => setTimeout(r, 200));
    // async-fixture-pkg exports a sendInvoices too: one span only, the app's.
    assert.deepEqual(spansOf(svc).map((s) => s.name).sort(), ['function add', 'function sendInvoices', 'parent']);
  });
}

test('entries that cannot be used: one warning each naming the variable and the entry; the rest is traced', async () => {
  const svc = service('bad');
  const res = await runNode(REGISTER.require, 'async-pkg-app.cjs', { env: envFor(svc, { OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE: './nope.js:x,async-fixture-pkg:,default,async-fixture-pkg:charge,./async/jobs.cjs:missing' }) });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, 'charged 5 package sent 1 2\n');
  const warnings = res.stderr.trim().split('\n');
  assert.equal(warnings.length, 4, res.stderr);
  assert.match(warnings[0], /OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE: "\.\/nope\.js:x" names no file .*; left out/);
  assert.match(warnings[1], /"async-fixture-pkg:" does not end in a function name; left out/);
  assert.match(warnings[2], /"default" needs a module/);
  assert.match(warnings[3], /async\/jobs\.cjs has no exported function "missing"/);
  await waitFor(() => spansOf(svc).some((s) => s.name === 'function charge'));
});

for (const mode of ['require', 'import']) {
  test(`--${mode}: a worker is a span until it exits, with its outcome; the worker's own spans join the trace`, async () => {
    const svc = service('worker');
    const res = await runNode(REGISTER[mode], 'async-worker-app.cjs', { env: envFor(svc, { OTEL_NODE_ASYNC_WORKER_TRACE_ENABLED: 'true', OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE: './async/jobs.cjs:sendInvoices' }) });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^ok: \{"body":"from main","sent":"sent 7","workerData":\{"port":\d+,"mode":"ok"\}\}\nok exit 0\nbad error: worker boom\nbad exit 1\nhang exit 1\n$/);
    // parent, three workers, the worker's http client span and traced function, the server span
    await waitFor(() => spansOf(svc).length >= 7);
    const spans = spansOf(svc);
    const parent = spans.find((s) => s.name === 'parent');
    const workers = spans.filter((s) => s.name === 'worker async/worker.cjs');
    assert.deepEqual(workers.map((w) => w.attributes['autoinstrument.async.state']).sort(), ['cancelled', 'exception', 'finished']);
    for (const w of workers) assert.equal(w.parentSpanId, parent.spanId);
    const ok = workers.find((w) => w.attributes['autoinstrument.async.state'] === 'finished');
    const bad = workers.find((w) => w.attributes['autoinstrument.async.state'] === 'exception');
    assert.equal(bad.status.code, 'STATUS_CODE_ERROR');
    assert.equal(bad.status.message, 'worker boom');
    // Started in the worker, exported by the main thread: the http client call and the traced function.
    const client = spans.find((s) => s.kind === 'SPAN_KIND_CLIENT');
    const fn = spans.find((s) => s.name === 'function sendInvoices');
    const server = spans.find((s) => s.kind === 'SPAN_KIND_SERVER');
    for (const s of [client, fn]) {
      assert.ok(s, 'a span from the worker');
      assert.equal(s.traceId, parent.traceId);
      assert.equal(s.parentSpanId, ok.spanId, `${s.name}: child of its worker's span`);
      assert.equal(s.attributes['thread.id'], ok.attributes['thread.id']);
    }
    assert.equal(server.parentSpanId, client.spanId, 'the worker propagated its context over http');
    const counts = await waitFor(() => (pointsOf(svc, 'autoinstrument.async.count').length > 0 ? pointsOf(svc, 'autoinstrument.async.count') : undefined));
    const key = (c) => `${c.attributes.type}:${c.attributes.name}:${c.attributes.state}`;
    const seen = new Set(counts.map(key));
    for (const k of ['worker:async/worker.cjs:finished', 'worker:async/worker.cjs:exception', 'worker:async/worker.cjs:cancelled', 'function:sendInvoices:finished']) assert.ok(seen.has(k), `${k} in ${[...seen]}`);
  });
}

test('worker tracing off (the default): a worker starts no SDK and forwards nothing', async () => {
  const svc = service('worker-off');
  const res = await runNode(REGISTER.import, 'async-worker-app.cjs', { env: envFor(svc) });
  assert.equal(res.code, 0, res.stderr);
  await waitFor(() => spansOf(svc).length >= 2);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(spansOf(svc).map((s) => s.name).sort(), ['GET', 'parent']);
});

for (const mode of ['require', 'import']) {
  test(`--${mode}: timers are traced only when enabled, named by their callback; unref'd ones never`, async () => {
    const off = service('timers-off');
    const on = service('timers-on');
    const [a, b] = await Promise.all([
      runNode(REGISTER[mode], 'async-timers-app.cjs', { env: envFor(off) }),
      runNode(REGISTER[mode], 'async-timers-app.cjs', { env: envFor(on, { OTEL_NODE_ASYNC_TIMERS_TRACE_ENABLED: 'true' }) }),
    ]);
    for (const r of [a, b]) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'caught: timer boom\ndone\n');
    }
    await waitFor(() => spansOf(on).length >= 7 && spansOf(off).length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(spansOf(off).map((s) => s.name), ['parent']);
    const parent = spansOf(on).find((s) => s.name === 'parent');
    const timers = spansOf(on).filter((s) => s.name !== 'parent' && s.parentSpanId === parent.spanId);
    const names = timers.map((s) => s.name);
    for (const t of ['timer onTimeout', 'timer onImmediate', 'timer throwsInTimer']) assert.equal(names.filter((x) => x === t).length, 1, t);
    assert.equal(names.filter((x) => x === 'timer onInterval').length, 2);
    assert.ok(!names.includes('timer housekeeping'), 'an unref\'d timer is not traced');
    assert.equal(timers.find((s) => s.name === 'timer throwsInTimer').attributes['autoinstrument.async.state'], 'exception');
    assert.ok(timers.every((s) => s.attributes['autoinstrument.async.state'] !== undefined));
  });
}

test('with no OTEL_NODE_ASYNC_* variable set, nothing of src/async is loaded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'otel-async-'));
  try {
    const out = join(dir, 'loaded.json');
    const svc = service('lazy');
    const res = await runNode(['--require', join(ROOT, 'test/fixtures/loaded-probe.cjs'), ...REGISTER.require], 'async-worker-app.cjs', { env: envFor(svc, { LOADED_PROBE_OUT: out }) });
    assert.equal(res.code, 0, res.stderr);
    const files = JSON.parse(readFileSync(out, 'utf8'));
    assert.ok(files.some((f) => f.includes('/dist/register.js')), 'the probe sees our bundle');
    assert.deepEqual(files.filter((f) => f.includes('/dist/async/')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker started by a traced worker is traced too; its spans reach the main thread through its parent', async () => {
  const svc = service('nested');
  const res = await runNode(REGISTER.require, 'async-nested-worker-app.cjs', { env: envFor(svc, { OTEL_NODE_ASYNC_WORKER_TRACE_ENABLED: 'true' }) });
  assert.equal(res.code, 0, res.stderr);
  await waitFor(() => spansOf(svc).length >= 4);
  const spans = spansOf(svc);
  const byName = (name) => spans.filter((s) => s.name === name);
  const [parent] = byName('parent');
  const workers = byName('worker async-nested-worker-app.cjs');
  const outer = workers.find((w) => w.parentSpanId === parent.spanId);
  const inner = workers.find((w) => w.parentSpanId === outer?.spanId);
  const [innermost] = byName('innermost');
  assert.ok(outer && inner && innermost, spans.map((s) => s.name).join(','));
  assert.equal(innermost.parentSpanId, inner.spanId);
  assert.equal(innermost.traceId, parent.traceId);
  assert.equal(innermost.attributes['thread.id'], inner.attributes['thread.id']);
  assert.notEqual(inner.attributes['thread.id'], outer.attributes['thread.id']);
});
