// Runtime metrics (src/runtime/): real processes, a real OTLP decoder and a real Prometheus server.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { freePort, prometheusMissing, startPrometheus } from '../helpers/prometheus.mjs';
import { REGISTER, ROOT, runNode } from '../helpers/run.mjs';

let receiver;
before(async () => (receiver = await startReceiver()));
after(() => receiver?.close());

let n = 0;
const service = (what) => `runtime-${what}-${process.pid}-${++n}`;

/** A young generation big enough that nothing is collected before both GC observers are listening. */
const QUIET_START = ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'];

function env(svc, extra = {}) {
  return {
    OTEL_SERVICE_NAME: svc,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl,
    OTEL_TRACES_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_METRIC_EXPORT_INTERVAL: '500',
    ...extra,
  };
}

/** Every exported metric of the service, each export separately: [{ scope, metric }]. */
function exported(svc) {
  const out = [];
  for (const m of receiver.metrics)
    for (const rm of m.resourceMetrics ?? []) {
      if (rm.resource?.attributes?.['service.name'] !== svc) continue;
      for (const sm of rm.scopeMetrics ?? []) for (const metric of sm.metrics ?? []) out.push({ scope: sm.scope?.name, metric });
    }
  return out;
}

const points = (metric) => (metric.histogram ?? metric.sum ?? metric.gauge)?.dataPoints ?? [];
const latest = (svc, name) => exported(svc).filter((e) => e.metric.name === name).at(-1)?.metric;

/** Per-type GC counts of one export of v8js.gc.duration. */
function gcCounts(metric) {
  const c = {};
  for (const p of points(metric)) c[p.attributes['v8js.gc.type']] = Number(p.count);
  return c;
}

const sameCounts = (a, b) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

test('every GC is counted: the exported counts equal an independent observer\'s, batches and all', async () => {
  const svc = service('gc');
  const witness = [];
  const run = runNode([...QUIET_START, '--require', './gc-witness.cjs', ...REGISTER.require], 'runtime-storm.cjs', {
    env: env(svc, { LINGER_MS: '6000' }),
    onStdout: (out) => {
      for (const line of out.split('\n')) if (line.startsWith('WITNESS ') && !witness.includes(line)) witness.push(line);
    },
  });
  // The witness prints its counts whenever they change after the storm; some export must match one
  // of them exactly, per GC type (an implementation that reads one entry per batch never catches up).
  const match = await waitFor(() => {
    const states = witness.map((l) => JSON.parse(l.slice('WITNESS '.length)));
    for (const e of exported(svc).filter((x) => x.metric.name === 'v8js.gc.duration')) {
      const ours = gcCounts(e.metric);
      const hit = states.find((s) => sameCounts(s.counts, ours));
      if (hit) return { ours, hit };
    }
    return undefined;
  }, 15000);
  const res = await run;
  assert.equal(res.code, 0, res.stderr);
  const states = witness.map((l) => JSON.parse(l.slice('WITNESS '.length)));
  assert.ok(states.length > 0, `the app printed no witness counts:\n${res.stdout}`);
  const exportedCounts = exported(svc).filter((x) => x.metric.name === 'v8js.gc.duration').map((e) => gcCounts(e.metric));
  assert.ok(match, `no export matched the witness.\nwitness: ${JSON.stringify(states)}\nexported: ${JSON.stringify(exportedCounts.slice(-5))}`);
  assert.ok(match.hit.total >= 20, `the storm caused only ${match.hit.total} GCs`);
  assert.ok(match.hit.maxBatch > 1, 'the observer was never handed a batch: the test does not exercise batches');
  assert.ok(match.ours.minor > 0 && match.ours.major > 0, JSON.stringify(match.ours));
});

for (const [how, flags] of Object.entries(REGISTER)) {
  test(`names, units, instruments and attributes follow the semantic conventions (--${how})`, async () => {
    const svc = service(`names-${how}`);
    const res = await runNode([...QUIET_START, ...flags], 'runtime-storm.cjs', { env: env(svc, { LINGER_MS: '2500', STORM_ITERATIONS: '1500' }) });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
    const all = await waitFor(() => latest(svc, 'nodejs.eventloop.delay.p99') && exported(svc), 5000);
    assert.ok(all, 'no runtime metrics arrived');
    const byName = new Map(all.map((e) => [e.metric.name, e]));
    const expect = {
      'v8js.gc.duration': ['histogram', 's'],
      'v8js.memory.heap.used': ['sum', 'By'],
      'v8js.memory.heap.space.size': ['sum', 'By'],
      'v8js.memory.heap.space.available_size': ['sum', 'By'],
      'v8js.memory.heap.space.physical_size': ['sum', 'By'],
      'v8js.resource.active': ['sum', '{resource}'],
      'nodejs.eventloop.delay.min': ['gauge', 's'],
      'nodejs.eventloop.delay.max': ['gauge', 's'],
      'nodejs.eventloop.delay.mean': ['gauge', 's'],
      'nodejs.eventloop.delay.stddev': ['gauge', 's'],
      'nodejs.eventloop.delay.p50': ['gauge', 's'],
      'nodejs.eventloop.delay.p90': ['gauge', 's'],
      'nodejs.eventloop.delay.p99': ['gauge', 's'],
      'nodejs.eventloop.utilization': ['gauge', '1'],
      'nodejs.eventloop.time': ['sum', 's'],
      'autoinstrument.eventloop.delay': ['histogram', 's'],
    };
    for (const [name, [kind, unit]] of Object.entries(expect)) {
      const e = byName.get(name);
      assert.ok(e, `${name} missing; got ${[...byName.keys()].join(', ')}`);
      assert.equal(e.scope, 'otel-autoinstrument/runtime', name);
      assert.ok(e.metric[kind], `${name} is not a ${kind}: ${JSON.stringify(e.metric).slice(0, 200)}`);
      assert.equal(e.metric.unit, unit, name);
    }
    // Up-down counters are non-monotonic sums; the event-loop time is a monotonic counter.
    assert.notEqual(byName.get('v8js.memory.heap.used').metric.sum.isMonotonic, true);
    assert.equal(byName.get('nodejs.eventloop.time').metric.sum.isMonotonic, true);
    const gc = byName.get('v8js.gc.duration').metric;
    assert.deepEqual(points(gc)[0].explicitBounds, [0.01, 0.1, 1, 10], 'the conventions\' advisory buckets');
    for (const p of points(gc)) assert.ok(['major', 'minor', 'incremental', 'weakcb'].includes(p.attributes['v8js.gc.type']), JSON.stringify(p.attributes));
    const spaces = points(byName.get('v8js.memory.heap.used').metric).map((p) => p.attributes['v8js.heap.space.name']);
    for (const s of ['new_space', 'old_space', 'code_space', 'large_object_space']) assert.ok(spaces.includes(s), `heap space ${s} missing: ${spaces}`);
    const states = points(byName.get('nodejs.eventloop.time').metric).map((p) => p.attributes['nodejs.eventloop.state']).sort();
    assert.deepEqual(states, ['active', 'idle']);
    const u = points(byName.get('nodejs.eventloop.utilization').metric)[0].asDouble;
    assert.ok(u >= 0 && u <= 1, `utilization ${u}`);
    // Upstream's runtime-node does not run beside ours.
    assert.ok(!all.some((e) => e.scope === '@opentelemetry/instrumentation-runtime-node'), 'runtime-node ran too');
  });
}

test('a 200 ms block shows in the delay gauges and histogram, in OTLP and Prometheus alike', async (t) => {
  const missing = prometheusMissing();
  if (missing && process.env.CI !== 'true') return t.skip(missing);
  assert.equal(missing, undefined, missing);
  const svc = service('block');
  const port = await freePort();
  const prom = await startPrometheus([`127.0.0.1:${port}`]);
  try {
    let blocked = false;
    let child;
    const run = runNode([...QUIET_START, ...REGISTER.import], 'runtime-storm.cjs', {
      // Windows of 2 s, longer than the 1 s scrape interval: every window is seen by both readers.
      env: env(svc, {
        OTEL_METRICS_EXPORTER: 'otlp,prometheus',
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
        OTEL_METRIC_EXPORT_INTERVAL: '2000',
        STORM_ITERATIONS: '1000',
        BLOCK_ON_SIGNAL: '1',
        LINGER_MS: '60000',
      }),
      onStdout: (out, c) => {
        child = c;
        blocked ||= out.includes('BLOCKED');
      },
    });
    // The block comes once Prometheus is scraping the app's runtime metrics.
    const up = await prom.waitFor('v8js_memory_heap_used', (r) => r.length > 0, 30000);
    assert.ok(up.length > 0 && child, `Prometheus never scraped the app; its stderr: ${prom.stderr()}`);
    child.kill('SIGUSR2');
    const maxes = () => exported(svc).filter((e) => e.metric.name === 'nodejs.eventloop.delay.max').map((e) => points(e.metric)[0]?.asDouble ?? 0);
    const otlpMax = await waitFor(() => Math.max(0, ...maxes()) >= 0.19 && Math.max(...maxes()), 10000);
    const fromProm = await prom.waitFor('max_over_time(nodejs_eventloop_delay_max[1m])', (r) => r.length > 0 && r[0].value >= 0.19, 10000);
    const gcProm = await prom.query('sum(v8js_gc_duration_count)');
    const heapProm = await prom.query('v8js_memory_heap_used');
    child.kill('SIGTERM');
    const res = await run;
    assert.equal(res.signal, 'SIGTERM', `exit ${res.code} ${res.signal}: ${res.stderr}`);
    assert.equal(res.stderr, '');
    assert.ok(blocked, 'the app never blocked');
    assert.ok(otlpMax >= 0.19, `OTLP delay.max never reached 0.19 s: ${maxes()}`);
    assert.ok(fromProm.length > 0 && fromProm[0].value >= 0.19, `Prometheus saw max ${JSON.stringify(fromProm)}; its stderr: ${prom.stderr()}`);
    assert.ok(gcProm.length > 0 && gcProm[0].value > 0, `Prometheus has no GC counts: ${JSON.stringify(gcProm)}`);
    assert.ok(heapProm.some((r) => r.metric.v8js_heap_space_name === 'old_space'), `heap spaces in Prometheus: ${JSON.stringify(heapProm.map((r) => r.metric))}`);
    // The mergeable histogram has the stall in a bucket above 100 ms.
    const h = points(latest(svc, 'autoinstrument.eventloop.delay'))[0];
    const bounds = h.explicitBounds;
    const above = h.bucketCounts.reduce((sum, c, i) => (i > 0 && bounds[i - 1] >= 0.1 ? sum + Number(c) : sum), 0);
    assert.ok(above >= 1, `no sample above 100 ms: ${JSON.stringify(h)}`);
  } finally {
    await prom.close();
  }
});

test('a stall in the first second, before the metrics SDK exists, is in the first window', async () => {
  const svc = service('early');
  const res = await runNode([...QUIET_START, ...REGISTER.require], 'runtime-storm.cjs', { env: env(svc, { STORM_ITERATIONS: '10', BLOCK_AT_MS: '300', LINGER_MS: '1500' }) });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /BLOCKED/);
  const maxes = () => exported(svc).filter((e) => e.metric.name === 'nodejs.eventloop.delay.max').map((e) => points(e.metric)[0]?.asDouble ?? 0);
  assert.ok(await waitFor(() => Math.max(0, ...maxes()) >= 0.19, 3000), `delay.max: ${maxes()}`);
});

test('extras: GC time kept in integer nanoseconds and bytes reclaimed per GC', async () => {
  const svc = service('extras');
  const res = await runNode([...QUIET_START, ...REGISTER.require], 'runtime-storm.cjs', { env: env(svc, { OTEL_NODE_RUNTIME_METRICS_EXTRAS: 'all', LINGER_MS: '2000', STORM_ITERATIONS: '3000' }) });
  assert.equal(res.code, 0, res.stderr);
  const time = await waitFor(() => latest(svc, 'autoinstrument.gc.time'), 5000);
  assert.ok(time, 'autoinstrument.gc.time missing');
  assert.equal(time.unit, 's');
  assert.equal(time.sum.isMonotonic, true);
  // The same exported collection: GC time per type equals the duration histogram's sum (ns rounding only).
  const last = receiver.metrics.filter((m) => JSON.stringify(m).includes(svc)).at(-1);
  const inLast = (name) => last.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)).find((m) => m.name === name);
  const durations = Object.fromEntries(points(inLast('v8js.gc.duration')).map((p) => [p.attributes['v8js.gc.type'], p.sum]));
  for (const p of points(inLast('autoinstrument.gc.time'))) {
    const type = p.attributes['v8js.gc.type'];
    assert.ok(Math.abs(p.asDouble - durations[type]) < 1e-6, `${type}: gc.time ${p.asDouble} vs duration sum ${durations[type]}`);
  }
  const reclaimed = latest(svc, 'autoinstrument.gc.reclaimed');
  assert.ok(reclaimed, 'autoinstrument.gc.reclaimed missing');
  assert.equal(reclaimed.unit, 'By');
  const total = points(reclaimed).reduce((s, p) => s + p.sum, 0);
  assert.ok(total > 1e6, `reclaimed only ${total} bytes over an allocation storm`);
});

test('runtime-node named in OTEL_NODE_ENABLED_INSTRUMENTATIONS: upstream runs instead, with one warning', async () => {
  const svc = service('upstream');
  const res = await runNode(REGISTER.require, '-e', { args: ['setTimeout(() => {}, 1800)'], env: env(svc, { OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,runtime-node' }) });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stderr.split('\n').filter((l) => l.includes('runtime-node')).length, 1, res.stderr);
  assert.match(res.stderr, /names runtime-node: it emits the runtime metrics instead/);
  const all = await waitFor(() => exported(svc).some((e) => e.metric.name.startsWith('v8js.')) && exported(svc), 5000);
  assert.ok(all, 'no runtime metrics');
  const scopes = new Set(all.filter((e) => e.metric.name.startsWith('v8js.')).map((e) => e.scope));
  assert.deepEqual([...scopes], ['@opentelemetry/instrumentation-runtime-node']);
});

test('runtime-node named and OTEL_NODE_RUNTIME_METRICS set: ours run alone, with one warning', async () => {
  const svc = service('ours-win');
  const res = await runNode(REGISTER.require, '-e', {
    args: ['setTimeout(() => {}, 1800)'],
    env: env(svc, { OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,runtime-node', OTEL_NODE_RUNTIME_METRICS: 'gc,heap' }),
  });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /only ours run/);
  const all = await waitFor(() => exported(svc).some((e) => e.metric.name.startsWith('v8js.')) && exported(svc), 5000);
  assert.ok(all, 'no runtime metrics');
  const scopes = new Set(all.map((e) => e.scope));
  assert.ok(scopes.has('otel-autoinstrument/runtime') && !scopes.has('@opentelemetry/instrumentation-runtime-node'), [...scopes].join());
  // Only the groups asked for.
  assert.ok(!all.some((e) => e.metric.name.startsWith('nodejs.')), 'eventloop metrics were not asked for');
});

test('off: OTEL_NODE_RUNTIME_METRICS=none exports none, and without a metrics exporter nothing of it is loaded', async () => {
  const svc = service('off');
  const res = await runNode(REGISTER.require, '-e', { args: ['setTimeout(() => {}, 1500)'], env: env(svc, { OTEL_NODE_RUNTIME_METRICS: 'none' }) });
  assert.equal(res.code, 0, res.stderr);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!exported(svc).some((e) => /^(v8js|nodejs|autoinstrument)\./.test(e.metric.name)), 'runtime metrics exported');

  const dir = mkdtempSync(join(tmpdir(), 'otel-runtime-off-'));
  try {
    const out = join(dir, 'loaded.json');
    const r2 = await runNode(['--require', join(ROOT, 'test/fixtures/loaded-probe.cjs'), ...REGISTER.require], '-e', {
      args: ['setTimeout(() => {}, 1200)'],
      env: { LOADED_PROBE_OUT: out, OTEL_METRICS_EXPORTER: 'none', OTEL_TRACES_EXPORTER: 'none' },
    });
    assert.equal(r2.code, 0, r2.stderr);
    const files = JSON.parse(readFileSync(out, 'utf8'));
    assert.ok(!files.some((f) => f.includes(join('dist', 'runtime', 'index.js'))), 'src/runtime loaded without a metrics exporter');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
