// Multiprocess metrics (src/multiprocess/): a cluster primary with worker threads, cluster workers
// (each with a thread) and child_process.fork children, all recording through the ordinary
// @opentelemetry/api Meter API (test/fixtures/apps/multiprocess/app.cjs and its .mjs twin). What a
// real Prometheus server scrapes and what a real OTLP decoder receives must equal the sums exactly.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { freePort, prometheusMissing, startPrometheus } from '../helpers/prometheus.mjs';
import { killAllApps, REGISTER, startApp as startAppProcess } from '../helpers/run.mjs';

const CJS = 'multiprocess/app.cjs';
const ESM = 'multiprocess/app.mjs';

let receiver;
before(async () => (receiver = await startReceiver()));
after(() => receiver?.close());

// Each test kills its own apps; this catches what a failure skipped.
after(killAllApps);

let n = 0;
const service = (what) => `multiprocess-${what}-${process.pid}-${++n}`;

const BASE_ENV = {
  OTEL_TRACES_EXPORTER: 'none',
  OTEL_LOGS_EXPORTER: 'none',
  OTEL_NODE_RUNTIME_METRICS: 'none',
  OTEL_NODE_MULTIPROCESS_INTERVAL: '200',
};

/** The fixture app (its own process group, stdin open for its commands), with its contributors as it printed them. */
function startApp(script, flags, env) {
  const app = startAppProcess(flags, script, { env: { ...BASE_ENV, ...env } });
  /** [{ w, pid, thread }], thread '-' for a main thread. */
  app.contributors = () =>
    app.lines('CONTRIB').map((l) => {
      const [w, pid, thread] = l.split(' ');
      return { w: Number(w), pid, thread };
    });
  return app;
}

/** What every contributor recorded, summed: see work() in the fixture app. */
function expected(all, live = all) {
  const sumW = (cs) => cs.reduce((s, c) => s + c.w, 0);
  const k = all.length;
  return {
    a: 2 * sumW(all),
    b: k,
    count: 2 * k,
    sum: 5 * k + sumW(all),
    buckets: { 10: k + all.filter((c) => c.w <= 10).length, 100: k + all.filter((c) => c.w <= 100).length, 1000: k + all.filter((c) => c.w <= 1000).length, '+Inf': 2 * k },
    inflight: sumW(live),
  };
}

/** One gauge series as "pid/thread=value", '-' where the label is absent. */
const series = (pid, thread, value) => `${pid ?? '-'}/${thread ?? '-'}=${value}`;
const pidSeries = (live) => live.map((c) => series(c.pid, c.thread === '-' ? undefined : c.thread, 1000 + c.w)).sort();

async function promState(prom) {
  const one = async (q) => (await prom.query(q))[0]?.value;
  const [a, b, count, sum, inflight, bucketRows, temps] = await Promise.all([
    one('sum(app_requests_total{route="a"})'),
    one('sum(app_requests_total{route="b"})'),
    one('sum(app_latency_count)'),
    one('sum(app_latency_sum)'),
    one('sum(app_inflight)'),
    prom.query('sum by (le) (app_latency_bucket)'),
    prom.query('app_temperature'),
  ]);
  const buckets = {};
  for (const r of bucketRows) buckets[r.metric.le] = r.value;
  return { totals: { a, b, count, sum, buckets, inflight }, temps: temps.map((r) => series(r.metric.process_pid, r.metric.thread_id, r.value)).sort() };
}

/** Polls Prometheus until its state equals `want` (or 20 s pass); every counter value seen is kept in `seen`. */
async function promSettles(prom, want, seen = []) {
  const end = Date.now() + 20000;
  let last;
  for (;;) {
    try {
      last = await promState(prom);
      if (last.totals.a !== undefined) seen.push(last.totals.a);
      if (JSON.stringify(last) === JSON.stringify(want)) return last;
    } catch {
      // Prometheus not up yet
    }
    if (Date.now() > end) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Our own endpoint read directly (no Prometheus server): app.requests by route (a, c) and ending, app.inflight, app.temperature series. */
async function scrape(port) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
  const out = { a: undefined, c: undefined, endings: {}, inflight: undefined, temps: [] };
  for (const line of (await res.text()).split('\n')) {
    const m = line.match(/^(app_requests_total|app_inflight|app_temperature)(?:\{(.*)\})? (\S+)$/);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const v = Number(m[3]);
    if (m[1] === 'app_inflight') out.inflight = v;
    else if (m[1] === 'app_temperature') out.temps.push(series(labels.process_pid, labels.thread_id, v));
    else if (labels.route === 'c') out.c = v;
    else if (labels.route === 'a') {
      out.a = (out.a ?? 0) + v;
      if (labels.ending) out.endings[labels.ending] = v;
    }
  }
  out.temps.sort();
  return out;
}

/** Scrapes until `accept` holds (at most `timeoutMs`); returns the last scrape. */
async function scrapeSettles(port, accept, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await scrape(port);
      if (accept(last)) return last;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const promEnv = (port, extra = {}) => ({
  OTEL_METRICS_EXPORTER: 'prometheus',
  OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
  OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
  ...extra,
});

/** Listening sockets on the port, as `ss` shows them with their owners. */
function listeners(port) {
  return new Promise((resolve) => {
    execFile('ss', ['-ltnpH', `sport = :${port}`], { timeout: 5000 }, (err, out) => resolve(err ? [`ss failed: ${err.message}`] : out.trim().split('\n').filter(Boolean)));
  });
}

/** Only the app's own messages reached the app's handlers: one ack to every child and thread, one "added" from each. */
function assertOnlyAppMessages(app) {
  const msgs = app.lines('MSG').map((l) => {
    const [where, json] = [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)];
    return { where, m: JSON.parse(json) };
  });
  const own = (m) => (['ack', 'end', 'more', 'more-added'].includes(m?.app) && Object.keys(m).length === 1) || (m?.app === 'added' && typeof m.w === 'number' && Object.keys(m).length === 2);
  const foreign = msgs.filter(({ m }) => !own(m));
  assert.deepEqual(foreign, [], 'an app message handler received a message the app did not send');
  const children = app.contributors().filter((c) => c.w > 1);
  for (const c of children) {
    const inbox = c.w >= 100 ? `fork${c.w / 100}` : c.thread === '-' ? `worker${c.w / 10}` : `thread${c.w}`;
    assert.equal(msgs.filter((x) => x.where === inbox && x.m.app === 'ack').length, 1, `${inbox} should have received exactly one ack:\n${app.stdout}`);
  }
  // cluster.on('message') in the primary sees each cluster worker's "added" (a replacement's too).
  const clusterWorkers = children.filter((c) => c.thread === '-' && c.w < 100).length;
  assert.equal(msgs.filter((x) => x.where === 'primary-cluster' && x.m.app === 'added').length, clusterWorkers);
}

function skipWithoutPrometheus(t) {
  const missing = prometheusMissing();
  if (missing && process.env.CI !== 'true') {
    t.skip(missing);
    return true;
  }
  assert.equal(missing, undefined, missing);
  return false;
}

/**
 * The Prometheus case: totals with 4 cluster workers (each with a thread), a pool of 4 threads and
 * `forks` forked children; then cluster worker 1 is killed with `signal` and replaced.
 */
async function prometheusCase({ script, flags, signal, forks = 0, env = {}, gauges }) {
  const port = await freePort();
  const prom = await startPrometheus([`127.0.0.1:${port}`]);
  const app = startApp(script, flags, promEnv(port, { FORKS: String(forks), ...env }));
  try {
    const primary = await app.line('PRIMARY');
    await app.line('READY');
    const before = app.contributors();
    assert.equal(before.length, 1 + 4 + 8 + forks, app.stdout);
    const want = { totals: expected(before), temps: gauges(before) };
    const got = await promSettles(prom, want);
    assert.deepEqual(got, want, `Prometheus never scraped the totals.\nstderr:\n${app.stderr}`);

    // The primary alone listens on the port (cluster workers would share its handle; forks would collide).
    const ls = await listeners(port);
    assert.equal(ls.length, 1, `listeners on ${port}: ${JSON.stringify(ls)}`);
    assert.match(ls[0], new RegExp(`pid=${primary},`), ls[0]);

    // Worker 1's adds are in (Prometheus saw them, so more than 2 intervals of 200 ms have passed).
    app.send(`kill ${signal}`);
    const exited = await app.line('EXITED');
    assert.equal(exited, `1 ${signal}`, app.stdout);
    const replacement = Number(await app.line('REPLACED'));
    const all = app.contributors();
    const victim = before.find((c) => c.w === 10).pid;
    assert.ok(all.some((c) => c.w === 10 * replacement), app.stdout);
    const live = all.filter((c) => c.pid !== victim);
    const seen = [];
    const wantAfter = { totals: expected(all, live), temps: gauges(live) };
    const gotAfter = await promSettles(prom, wantAfter, seen);
    assert.deepEqual(gotAfter, wantAfter, `after worker 1 was killed with ${signal} and replaced.\nstderr:\n${app.stderr}`);
    // Counters never went backwards: not in what we polled, nor between any two scrapes.
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], `app.requests went from ${seen[i - 1]} to ${seen[i]}`);
    const resets = await prom.query('max(resets(app_requests_total[5m])) + max(resets(app_latency_count[5m]))');
    assert.equal(resets[0]?.value, 0, `Prometheus saw a counter reset: ${JSON.stringify(resets)}`);

    assert.doesNotMatch(app.stderr, /EADDRINUSE|could not listen/i);
    assert.equal(app.stderr, '', 'nothing on stderr');
    assertOnlyAppMessages(app);
  } finally {
    await app.kill();
    await prom.close();
  }
}

test('Prometheus scrapes exact totals across a cluster, worker threads and forks; a SIGKILLed worker is replaced and nothing is lost (--require)', { timeout: 60000 }, async (t) => {
  if (skipWithoutPrometheus(t)) return;
  // Default gauge policy pid: one series per contributor, with process.pid (and thread.id).
  await prometheusCase({ script: CJS, flags: REGISTER.require, signal: 'SIGKILL', forks: 2, gauges: pidSeries });
});

test('the ESM app under --import: the same totals; a SIGTERMed worker is replaced; a max gauge policy gives one series', { timeout: 60000 }, async (t) => {
  if (skipWithoutPrometheus(t)) return;
  await prometheusCase({
    script: ESM,
    flags: REGISTER.import,
    signal: 'SIGTERM',
    env: { OTEL_NODE_MULTIPROCESS_GAUGE_POLICIES: 'app.temperature=max' },
    gauges: (live) => [series(undefined, undefined, 1000 + Math.max(...live.map((c) => c.w)))],
  });
});

/** Per resource (service.instance.id) of the service, its pid and its latest app metrics. */
function resources(svc) {
  const out = new Map();
  for (const m of receiver.metrics)
    for (const rm of m.resourceMetrics ?? []) {
      const attrs = rm.resource?.attributes ?? {};
      if (attrs['service.name'] !== svc) continue;
      const id = attrs['service.instance.id'];
      const app = {};
      for (const sm of rm.scopeMetrics ?? []) if (sm.scope?.name === 'multiprocess-app') for (const x of sm.metrics ?? []) app[x.name] = x;
      const prev = out.get(id);
      out.set(id, { pid: String(attrs['process.pid']), app: app['app.requests'] ? app : prev?.app });
    }
  return out;
}

const points = (metric) => (metric?.histogram ?? metric?.sum ?? metric?.gauge)?.dataPoints ?? [];
const num = (p) => Number(p.asDouble ?? p.asInt ?? 0);

/** One resource's app metrics in the shape of expected(). */
function otlpTotals(app) {
  const req = points(app['app.requests']);
  const hist = points(app['app.latency']);
  const cum = {};
  let acc = 0;
  const bounds = hist[0]?.explicitBounds ?? [];
  const counts = hist[0]?.bucketCounts ?? [];
  for (let i = 0; i < counts.length; i++) {
    acc += Number(counts[i]);
    cum[i < bounds.length ? bounds[i] : '+Inf'] = acc;
  }
  return {
    a: req.filter((p) => p.attributes?.route === 'a').reduce((s, p) => s + num(p), 0),
    b: req.filter((p) => p.attributes?.route === 'b').reduce((s, p) => s + num(p), 0),
    count: hist.reduce((s, p) => s + Number(p.count), 0),
    sum: hist.reduce((s, p) => s + Number(p.sum), 0),
    buckets: cum,
    inflight: points(app['app.inflight']).reduce((s, p) => s + num(p), 0),
  };
}

const otlpEnv = (svc, extra = {}) => ({
  OTEL_SERVICE_NAME: svc,
  OTEL_METRICS_EXPORTER: 'otlp',
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl,
  OTEL_METRIC_EXPORT_INTERVAL: '500',
  ...extra,
});

test('OTLP per process (the default): each process its own resource, its threads inside it; the resources add up to the totals', { timeout: 60000 }, async () => {
  const svc = service('per-process');
  const app = startApp(CJS, REGISTER.require, otlpEnv(svc));
  try {
    const primary = await app.line('PRIMARY');
    await app.line('READY');
    const all = app.contributors();
    const pids = [...new Set(all.map((c) => c.pid))];
    assert.equal(pids.length, 5, app.stdout);
    // Per pid: the contributors in that process, its threads included.
    const want = Object.fromEntries(pids.map((pid) => [pid, expected(all.filter((c) => c.pid === pid))]));
    const byPid = () => Object.fromEntries([...resources(svc).values()].filter((r) => r.app).map((r) => [r.pid, otlpTotals(r.app)]));
    await waitFor(() => pids.every((pid) => JSON.stringify(byPid()[pid]) === JSON.stringify(want[pid])), 15000);
    const got = byPid();
    assert.deepEqual(got, want, `stderr:\n${app.stderr}`);
    const res = resources(svc);
    assert.equal(new Set([...res.values()].map((r) => r.pid)).size, res.size, 'one service.instance.id per process');
    assert.equal(res.size, 5, JSON.stringify([...res.entries()]));
    const sumA = Object.values(got).reduce((s, x) => s + x.a, 0);
    assert.equal(sumA, expected(all).a);
    // The primary's gauge has its own series and its 4 threads' (pid policy).
    const primaryRes = [...res.values()].find((r) => r.pid === primary);
    const temps = points(primaryRes.app['app.temperature']).map((p) => series(p.attributes?.['process.pid'], p.attributes?.['thread.id'], num(p))).sort();
    assert.deepEqual(temps, pidSeries(all.filter((c) => c.pid === primary)));
    assert.equal(app.stderr, '');
    assertOnlyAppMessages(app);
  } finally {
    await app.kill();
  }
});

test('OTLP aggregated: only the primary exports, with everyone\'s totals, child_process.fork children included', { timeout: 60000 }, async () => {
  const svc = service('aggregated');
  const app = startApp(CJS, REGISTER.require, otlpEnv(svc, { OTEL_NODE_MULTIPROCESS_METRICS: 'aggregated', FORKS: '2' }));
  try {
    const primary = await app.line('PRIMARY');
    await app.line('READY');
    const all = app.contributors();
    assert.equal(all.length, 1 + 4 + 8 + 2, app.stdout);
    const want = expected(all);
    const primaryTotals = () => {
      const r = [...resources(svc).values()].find((x) => x.pid === primary && x.app);
      return r && otlpTotals(r.app);
    };
    await waitFor(() => JSON.stringify(primaryTotals()) === JSON.stringify(want), 15000);
    assert.deepEqual(primaryTotals(), want, `stderr:\n${app.stderr}`);
    // Two more export intervals: a child exporting on its own would have shown up by now.
    await new Promise((r) => setTimeout(r, 1200));
    const pids = [...resources(svc).values()].map((r) => r.pid);
    assert.deepEqual([...new Set(pids)], [primary], 'only the primary exports OTLP');
    assert.equal(app.stderr, '');
    assertOnlyAppMessages(app);
  } finally {
    await app.kill();
  }
});

test('off: as upstream, worker threads export nothing and cluster workers collide on the Prometheus port', { timeout: 60000 }, async () => {
  const port = await freePort();
  const app = startApp(CJS, REGISTER.require, promEnv(port, { OTEL_NODE_MULTIPROCESS_METRICS: 'off', WORKERS: '2', THREADS: '1', WORKER_THREADS: '0' }));
  try {
    await app.line('READY');
    const m = await scrapeSettles(port, (x) => x.a !== undefined);
    // The primary's own 2 alone: not its thread's 4, not the workers' 20 and 40.
    assert.equal(m?.a, 2);
    await waitFor(() => /could not listen/.test(app.stderr), 10000);
    assert.match(app.stderr, /Prometheus exporter could not listen on 127\.0\.0\.1:\d+ .*EADDRINUSE/);
  } finally {
    await app.kill();
  }
});

test('a worker thread that ends is retired: its counters stay, its gauge and up-down counter go', { timeout: 60000 }, async (t) => {
  const port = await freePort();
  const app = startApp(CJS, REGISTER.require, promEnv(port, { WORKERS: '0', THREADS: '2' }));
  try {
    const primary = await app.line('PRIMARY');
    await app.line('READY');
    const all = app.contributors();
    const state = (live) => ({ a: expected(all).a, inflight: expected(all, live).inflight, temps: pidSeries(live) });
    const pick = (m) => ({ a: m?.a, inflight: m?.inflight, temps: m?.temps });
    const settles = async (want) => pick(await scrapeSettles(port, (m) => JSON.stringify(pick(m)) === JSON.stringify(want), 5000));
    assert.deepEqual(await settles(state(all)), state(all));

    app.send('end 2');
    assert.equal(await app.line('THREAD-EXITED'), '2 0');
    const afterReturn = state(all.filter((c) => c.w !== 2));
    await t.test('a thread that returns', async () => assert.deepEqual(await settles(afterReturn), afterReturn));

    app.send('terminate 3');
    await waitFor(() => app.lines('THREAD-EXITED').length === 2, 5000);
    assert.equal(app.lines('THREAD-EXITED')[1], '3 1');
    const afterTerminate = state(all.filter((c) => c.pid === primary && c.thread === '-'));
    await t.test(
      'a terminated thread',
      async () => assert.deepEqual(await settles(afterTerminate), afterTerminate),
    );
  } finally {
    await app.kill();
  }
});

test('short-lived child_process.fork children: what they recorded before ending reaches the primary', { timeout: 60000 }, async (t) => {
  const port = await freePort();
  const app = startApp('multiprocess/short-children.cjs', REGISTER.require, promEnv(port));
  try {
    await app.line('PRIMARY');
    await app.line('READY');
    // The children are gone and closed: whatever reached the primary is in; 2 s of scrapes for the rest.
    // A child that calls process.exit() loses its last interval (nothing asynchronous runs after
    // it, docs/multiprocess-metrics.md), so its count is not awaited or asserted here.
    const m = await scrapeSettles(port, (x) => x?.endings?.return === 100 && x.endings.disconnect === 200, 2000);
    assert.ok(m, 'the endpoint never answered');
    assert.equal(m.endings.primary, 1);
    await t.test('a child that returns', () => assert.equal(m.endings.return, 100));
    await t.test('a child that disconnects its IPC channel', () => assert.equal(m.endings.disconnect, 200));
  } finally {
    await app.kill();
  }
});

test('a cluster worker the primary disconnects sends a last snapshot: what its thread recorded just before arrives', { timeout: 60000 }, async () => {
  const port = await freePort();
  const app = startApp(CJS, REGISTER.require, promEnv(port, { WORKERS: '1', THREADS: '0' }));
  try {
    const primary = await app.line('PRIMARY');
    await app.line('READY');
    const all = app.contributors();
    // The worker's own SDK values have reached the primary once (the disconnect snapshot carries them as of then).
    const first = await scrapeSettles(port, (m) => m.a === expected(all).a);
    assert.equal(first?.a, expected(all).a);
    app.send('disconnect');
    assert.equal(await app.line('DISCONNECTED'), '1 0');
    const want = { a: expected(all).a, c: 7, inflight: 1, temps: pidSeries(all.filter((c) => c.pid === primary)) };
    const pick = (m) => ({ a: m?.a, c: m?.c, inflight: m?.inflight, temps: m?.temps });
    assert.deepEqual(pick(await scrapeSettles(port, (m) => JSON.stringify(pick(m)) === JSON.stringify(want), 5000)), want);
    assert.equal(app.stderr, '');
    assertOnlyAppMessages(app);
  } finally {
    await app.kill();
  }
});
