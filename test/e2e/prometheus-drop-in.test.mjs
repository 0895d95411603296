// The Prometheus drop-in (otel-autoinstrument/prometheus, src/prometheus) in real processes: a
// cluster whose workers use it the way prom-client apps do (test/fixtures/apps/prometheus-drop-in/),
// scraped by a real Prometheus server from the primary's endpoint. Totals must be exact across
// workers, worker threads and workers that die or disconnect; summaries must give the percentiles
// of all observations together; exemplars must carry the active span's ids.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { family, parse, sampleValue } from '../helpers/prom-text.mjs';
import { freePort, poll, prometheusMissing, startPrometheus } from '../helpers/prometheus.mjs';
import { killAllApps, ROOT, startApp as startAppProcess } from '../helpers/run.mjs';

const REGISTER_CJS = join(ROOT, 'register', 'index.cjs');
const CLUSTER_APP = 'prometheus-drop-in/cluster-app.cjs';
const EXEMPLAR_APP = 'prometheus-drop-in/exemplar-app.cjs';
const INTERVAL_MS = 200;

const BASE_ENV = {
  OTEL_METRICS_EXPORTER: 'prometheus',
  OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
  OTEL_TRACES_EXPORTER: 'none',
  OTEL_LOGS_EXPORTER: 'none',
  OTEL_NODE_RUNTIME_METRICS: 'none',
  OTEL_NODE_MULTIPROCESS_INTERVAL: String(INTERVAL_MS),
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Skips (printing why) when there is no Prometheus here; under CI=true that is a failure. */
function noPrometheus(t) {
  const missing = prometheusMissing();
  if (missing === undefined) return false;
  if (process.env.CI === 'true') assert.fail(`CI=true and ${missing}`);
  t.skip(missing);
  return true;
}


// Each test kills its own apps; this catches what a failure skipped.
after(killAllApps);

/** A fixture app under the register hook (its own process group), with the cluster app's command protocol. */
function startApp(script, env) {
  const app = startAppProcess(['--require', REGISTER_CJS], script, { env: { ...BASE_ENV, ...env } });
  let seq = 0;
  /** Sends a command to the cluster app and waits for its answer's payload. */
  app.command = async (cmd, timeoutMs = 15000) => {
    const n = ++seq;
    app.send(`${n} ${cmd}`);
    const done = await poll(() => app.lines('OK').find((l) => l.split(' ')[0] === String(n)) ?? app.lines('FAIL').find((l) => l.split(' ')[0] === String(n)), timeoutMs, 25);
    assert.ok(done !== undefined, `no answer to "${cmd}" within ${timeoutMs} ms.\nstdout:\n${app.stdout.slice(-3000)}\nstderr:\n${app.stderr.slice(-3000)}`);
    assert.ok(app.lines('OK').includes(done), `"${cmd}" failed: ${done}`);
    return done.slice(String(n).length + 1);
  };
  return app;
}

// ---- What the cluster app's work adds up to (see work() in cluster-app.cjs) ----

/** Worker K's payloads: worker 1 many small ones, the others 200 big ones each. */
const payloadsOf = (k) => (k === 1 ? Array.from({ length: 3000 }, (_, j) => j + 1) : Array.from({ length: 200 }, (_, j) => 10000 * k + j + 1));
const PERCENTILES = [0.5, 0.9, 0.99];
/** Worker K's queue depth (aggregator 'max'): not in K's order, so the max is not the last one set. */
const DEPTH = { 1: 300, 2: 800, 3: 100, 4: 200, 5: 500, 6: 50 };
/** The nearest-rank quantile of sorted values. */
const quantileOf = (sorted, q) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
const THREAD_GROUP = { jobs: 4 * 500 + 3 * 500 + 2 * 500 + 500, buckets: { 1: 10, 10: 10, '+Inf': 14 }, sum: 0.5 * 10 + 20 * 4, count: 14 };

/**
 * The exact state after these work rounds (one K per round, dead workers' included, a K twice if it
 * worked twice), with `live` workers' gauges, and worker-thread groups that have run.
 */
function expected(rounds, live, threadGroups = []) {
  const sum = (f) => rounds.reduce((s, k) => s + f(k), 0);
  const payloads = rounds.flatMap(payloadsOf).sort((a, b) => a - b);
  return {
    exact: {
      requests: { 'GET /a 200': sum((k) => 10 * k), 'GET /c 404': 7 * rounds.length, 'POST /b 201': sum((k) => 2.5 * k) },
      latency: {
        buckets: { 0.1: sum((k) => k), 0.5: sum((k) => k + 1), 1: sum((k) => k + 3), 5: sum((k) => k + 4), '+Inf': sum((k) => 2 * k + 4) },
        sum: sum((k) => 10.0625 * k + 5),
        count: sum((k) => 2 * k + 4),
      },
      payload: { sum: payloads.reduce((a, b) => a + b, 0), count: payloads.length },
      gauges: { inflight: live.reduce((a, k) => a + k, 0), deepest: Math.max(...live.map((k) => DEPTH[k])) },
      threads: Object.fromEntries(threadGroups.map((g) => [g, THREAD_GROUP])),
    },
    quantiles: Object.fromEntries(PERCENTILES.map((q) => [q, quantileOf(payloads, q)])),
  };
}

/** The state as an exposition (strictly parsed) shows it. */
function stateOfText(text) {
  const fs = parse(text);
  const f = (name) => fs.find((x) => x.name === name);
  const requests = {};
  for (const s of f('app_requests_total')?.samples ?? []) requests[`${s.labels.method} ${s.labels.route} ${s.labels.status}`] = s.value;
  const lat = f('app_latency_seconds');
  const buckets = {};
  for (const s of lat?.samples.filter((x) => x.name === 'app_latency_seconds_bucket') ?? []) buckets[s.labels.le === '+Inf' ? '+Inf' : Number(s.labels.le)] = s.value;
  const pay = f('app_payload_bytes');
  const quantiles = {};
  for (const s of pay?.samples.filter((x) => x.name === 'app_payload_bytes') ?? []) quantiles[Number(s.labels.quantile)] = s.value;
  const threads = {};
  for (const s of f('app_thread_jobs_total')?.samples ?? []) {
    const tf = family(fs, 'app_thread_job_seconds');
    const g = s.labels.group;
    const tb = {};
    for (const b of tf.samples.filter((x) => x.name === 'app_thread_job_seconds_bucket' && x.labels.group === g)) tb[b.labels.le === '+Inf' ? '+Inf' : Number(b.labels.le)] = b.value;
    threads[g] = { jobs: s.value, buckets: tb, sum: sampleValue(tf, 'app_thread_job_seconds_sum', { group: g }), count: sampleValue(tf, 'app_thread_job_seconds_count', { group: g }) };
  }
  return {
    exact: {
      requests,
      latency: { buckets, sum: lat && sampleValue(lat, 'app_latency_seconds_sum', { route: '/a' }), count: lat && sampleValue(lat, 'app_latency_seconds_count', { route: '/a' }) },
      payload: { sum: pay && sampleValue(pay, 'app_payload_bytes_sum'), count: pay && sampleValue(pay, 'app_payload_bytes_count') },
      gauges: { inflight: f('app_inflight')?.samples[0]?.value, deepest: f('app_queue_depth_max')?.samples[0]?.value },
      threads,
    },
    quantiles,
  };
}

/** The same state as Prometheus has scraped it. */
async function stateOfProm(prom) {
  const [req, bkt, lsum, lcount, pq, psum, pcount, inflight, deepest, tjobs, tbkt, tsum, tcount] = await Promise.all(
    [
      'app_requests_total',
      'app_latency_seconds_bucket',
      'app_latency_seconds_sum',
      'app_latency_seconds_count',
      'app_payload_bytes',
      'app_payload_bytes_sum',
      'app_payload_bytes_count',
      'app_inflight',
      'app_queue_depth_max',
      'app_thread_jobs_total',
      'app_thread_job_seconds_bucket',
      'app_thread_job_seconds_sum',
      'app_thread_job_seconds_count',
    ].map((q) => prom.query(q)),
  );
  const requests = {};
  for (const r of req) requests[`${r.metric.method} ${r.metric.route} ${r.metric.status}`] = r.value;
  const buckets = {};
  for (const r of bkt) buckets[r.metric.le === '+Inf' ? '+Inf' : Number(r.metric.le)] = r.value;
  const quantiles = {};
  for (const r of pq) quantiles[Number(r.metric.quantile)] = r.value;
  const threads = {};
  for (const r of tjobs) {
    const g = r.metric.group;
    const tb = {};
    for (const b of tbkt.filter((x) => x.metric.group === g)) tb[b.metric.le === '+Inf' ? '+Inf' : Number(b.metric.le)] = b.value;
    threads[g] = { jobs: r.value, buckets: tb, sum: tsum.find((x) => x.metric.group === g)?.value, count: tcount.find((x) => x.metric.group === g)?.value };
  }
  return {
    exact: {
      requests,
      latency: { buckets, sum: lsum[0]?.value, count: lcount[0]?.value },
      payload: { sum: psum[0]?.value, count: pcount[0]?.value },
      gauges: { inflight: inflight[0]?.value, deepest: deepest[0]?.value },
      threads,
    },
    quantiles,
    /** Label names of the counter's series, to show they are served as the app named them. */
    labelNames: [...new Set(req.flatMap((r) => Object.keys(r.metric)))].sort(),
  };
}

const within2pc = (got, want) => typeof got === 'number' && Math.abs(got - want) <= 0.02 * want;
const sameExact = (state, want) => isDeepStrictEqual(state?.exact, want.exact);
const quantilesOk = (state, want) => PERCENTILES.every((q) => within2pc(state?.quantiles[q], want.quantiles[q]));

/** Asserts a state equals the expected one: exact totals, summary quantiles within 2 %. */
function assertState(state, want, where) {
  assert.ok(state, `${where}: no state`);
  assert.deepEqual(state.exact, want.exact, `${where}: totals`);
  for (const q of PERCENTILES) assert.ok(within2pc(state.quantiles[q], want.quantiles[q]), `${where}: p${q * 100} is ${state.quantiles[q]}, all payloads together give ${want.quantiles[q]} (2 % allowed)`);
}

async function endpointText(port) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3000) });
  assert.equal(res.status, 200);
  return res.text();
}

/** The endpoint and the primary's own registries (register.metrics(), clusterMetrics()) until they show `want`; asserts they do. */
async function assertPrimary(app, port, want, where) {
  let last;
  await poll(async () => {
    const { metrics, cluster } = JSON.parse(await app.command('metrics'));
    last = { endpoint: stateOfText(await endpointText(port)), metrics: stateOfText(metrics), cluster: stateOfText(cluster) };
    return Object.values(last).every((s) => sameExact(s, want) && quantilesOk(s, want));
  }, 15000, INTERVAL_MS);
  assert.ok(last, `${where}: the primary never answered`);
  for (const [k, s] of Object.entries(last)) assertState(s, want, `${where}, ${k}`);
}

async function assertProm(prom, want, where) {
  const state = await poll(async () => {
    const s = await stateOfProm(prom);
    return sameExact(s, want) && quantilesOk(s, want) ? s : undefined;
  }, 20000, 250);
  const last = state ?? (await stateOfProm(prom));
  assertState(last, want, `${where}, Prometheus`);
  return last;
}

test('cluster: Prometheus scrapes exact totals, merged histograms and summaries across workers, threads, and workers that die or disconnect', { timeout: 90000 }, async (t) => {
  if (noPrometheus(t)) return;
  const port = await freePort();
  const prom = await startPrometheus([`127.0.0.1:${port}`]);
  const app = startApp(CLUSTER_APP, { OTEL_EXPORTER_PROMETHEUS_PORT: String(port) });
  try {
    await app.line('PRIMARY');
    for (const k of [1, 2, 3, 4]) await app.command(`fork ${k}`);
    for (const k of [1, 2, 3, 4]) await app.command(`work ${k}`);
    let rounds = [1, 2, 3, 4];
    let want = expected(rounds, [1, 2, 3, 4]);

    // The data is such that averaging each worker's percentiles (prom-client's cluster mode) fails.
    for (const q of PERCENTILES) {
      const avg = [1, 2, 3, 4].reduce((s, k) => s + quantileOf(payloadsOf(k), q), 0) / 4;
      assert.ok(!within2pc(avg, want.quantiles[q]), `bad test data: the average of the workers' p${q * 100} (${avg}) is close to the true one`);
    }

    await t.test('4 workers: the primary (endpoint, register.metrics(), clusterMetrics()) and Prometheus show exact totals', async () => {
      await assertPrimary(app, port, want, '4 workers');
      const state = await assertProm(prom, want, '4 workers');
      assert.deepEqual(state.labelNames, ['__name__', 'instance', 'job', 'method', 'route', 'status'], 'the counter is served under its own name and labels only');
    });

    await t.test('Prometheus parsed the endpoint: up, samples scraped, target healthy with no error', async () => {
      assert.deepEqual((await prom.query('up')).map((r) => r.value), [1]);
      const scraped = await prom.query('scrape_samples_scraped');
      assert.ok(scraped.length === 1 && scraped[0].value > 0, `scrape_samples_scraped: ${JSON.stringify(scraped)}`);
      const res = await fetch(`${prom.base}/api/v1/targets`, { signal: AbortSignal.timeout(3000) });
      const targets = (await res.json()).data.activeTargets;
      assert.equal(targets.length, 1);
      assert.equal(targets[0].health, 'up', JSON.stringify(targets[0]));
      assert.equal(targets[0].lastError, '');
    });

    await t.test('worker threads (4 in the primary, 4 in a worker) that end right after recording: totals exact', async () => {
      await app.command('threads-primary');
      await app.command('threads 1');
      want = expected(rounds, [1, 2, 3, 4], ['primary', 'worker1']);
      await assertPrimary(app, port, want, 'threads');
      await assertProm(prom, want, 'threads');
    });

    await t.test('a worker killed (SIGKILL), others disconnected by the primary or by themselves right after their last work, and replacements: totals include them all and never go backwards; gauges follow the live workers', async () => {
      // The endpoint read every 50 ms meanwhile: every total must only grow.
      const seen = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          try {
            const s = stateOfText(await endpointText(port)).exact;
            seen.push([Object.values(s.requests).reduce((a, b) => a + b, 0), s.latency.count, s.payload.count, s.threads.primary?.jobs, s.threads.worker1?.jobs]);
          } catch {
            // a failed scrape shows up in Prometheus' checks below
          }
          await sleep(50);
        }
      })();
      try {
        // Worker 2's values have long been forwarded (checked above); more than 2 intervals more.
        await sleep(3 * INTERVAL_MS);
        assert.equal(await app.command('kill 2'), 'null SIGKILL');
        await assertPrimary(app, port, expected(rounds, [1, 3, 4], ['primary', 'worker1']), 'worker 2 killed');
        await app.command('fork 5');
        await app.command('work 5');
        rounds = [...rounds, 5];
        await assertPrimary(app, port, expected(rounds, [1, 3, 4, 5], ['primary', 'worker1']), 'worker 5 replaced worker 2');
        // Worker 3 works once more and is disconnected by the primary as soon as it answers.
        assert.equal(await app.command('work-disconnect 3'), '0 null');
        rounds = [...rounds, 3];
        await assertPrimary(app, port, expected(rounds, [1, 4, 5], ['primary', 'worker1']), 'worker 3 disconnected');
        await app.command('fork 6');
        await app.command('work 6');
        rounds = [...rounds, 6];
        await assertPrimary(app, port, expected(rounds, [1, 4, 5, 6], ['primary', 'worker1']), 'worker 6 replaced worker 3');
        // Worker 4 works once more and disconnects itself (cluster.worker.disconnect()) at once.
        assert.equal(await app.command('work-exit 4'), '0 null');
        rounds = [...rounds, 4];
        want = expected(rounds, [1, 5, 6], ['primary', 'worker1']);
        await assertPrimary(app, port, want, 'worker 4 disconnected itself');
        await assertProm(prom, want, 'after the replacements');
      } finally {
        watching = false;
        await watcher;
      }
      assert.ok(seen.length > 10, `the endpoint was read ${seen.length} times`);
      for (let i = 1; i < seen.length; i++)
        for (let j = 0; j < seen[i].length; j++) assert.ok(!(seen[i][j] < seen[i - 1][j]), `a total went backwards: ${JSON.stringify(seen[i - 1])} then ${JSON.stringify(seen[i])}`);
      // Prometheus' own view: no counter, histogram or summary count ever reset.
      for (const q of ['app_requests_total', 'app_latency_seconds_bucket', 'app_latency_seconds_count', 'app_payload_bytes_count', 'app_thread_jobs_total']) {
        const r = await prom.query(`resets(${q}[10m])`);
        assert.ok(r.length > 0 && r.every((x) => x.value === 0), `resets(${q}): ${JSON.stringify(r)}`);
      }
    });

    await t.test("the app's own message handlers never see the drop-in's messages", () => {
      const msgs = app.lines('MSG').map((l) => ({ where: l.slice(0, l.indexOf(' ')), m: JSON.parse(l.slice(l.indexOf(' ') + 1)) }));
      const foreign = msgs.filter((x) => typeof x.m?.app !== 'string');
      assert.deepEqual(foreign, [], 'messages the app did not send');
      // The handlers did run: each worker's messages reached both the primary's handlers, and the
      // primary's commands reached the workers' process.on('message').
      const from = (w) => msgs.filter((x) => x.where === w).length;
      const workerSide = msgs.filter((x) => x.where.startsWith('worker')).length;
      assert.ok(from('cluster') >= 8 && from('cluster') === workerSide, `cluster.on('message') saw ${from('cluster')}, worker.on('message') ${workerSide}`);
      assert.equal(msgs.filter((x) => x.where.startsWith('inside')).length, msgs.filter((x) => x.where.startsWith('worker') && x.m.app === 'done').length);
    });
  } finally {
    await app.kill();
    await prom.close();
  }
  assert.doesNotMatch(app.stderr, /Error|warn/i, 'the app and the hook wrote no error or warning');
});

test(
  'an app without OpenTelemetry metrics: the endpoint gives every drop-in family its HELP line',
  { timeout: 30000 },
  async () => {
    const port = await freePort();
    // No http instrumentation: even the scrapes record no OpenTelemetry metric.
    const app = startApp(CLUSTER_APP, { OTEL_EXPORTER_PROMETHEUS_PORT: String(port), OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http' });
    try {
      await app.line('PRIMARY');
      await app.command('fork 1');
      await app.command('work 1');
      const HELP = { app_inflight: 'Requests in flight, summed over workers', app_latency_seconds: 'Request latency', app_payload_bytes: 'Payload sizes', app_queue_depth_max: 'Deepest queue of any worker', app_requests_total: 'Requests handled' };
      const text = await poll(async () => {
        const t = await endpointText(port);
        return t.includes('app_requests_total{') ? t : undefined;
      }, 15000);
      assert.ok(text, 'the drop-in metrics never reached the endpoint');
      const helps = Object.fromEntries(parse(text).filter((f) => f.name.startsWith('app_')).map((f) => [f.name, f.help]));
      assert.deepEqual(helps, HELP, `comment lines of the endpoint:\n${text.split('\n').filter((l) => l.startsWith('#')).join('\n')}`);
    } finally {
      await app.kill();
    }
  },
);

test('scrapes of our endpoint are not the app\'s requests: no server span, no http.server.request.duration', { timeout: 30000 }, async () => {
  const port = await freePort();
  const app = startApp(CLUSTER_APP, { OTEL_EXPORTER_PROMETHEUS_PORT: String(port), OTEL_TRACES_EXPORTER: 'console' });
  try {
    await app.line('PRIMARY');
    await app.command('fork 1');
    await app.command('work 1');
    let text;
    for (let i = 0; i < 5; i++) {
      text = await poll(() => endpointText(port), 10000);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(text?.includes('app_requests_total{'), 'the endpoint answered');
    await new Promise((r) => setTimeout(r, 1500)); // the console exporter's batch
    assert.doesNotMatch(app.stdout, /\/metrics/, 'a scrape was traced as a request of the app');
    assert.doesNotMatch(await endpointText(port), /http_server_request_duration/, 'a scrape was measured as a request of the app');
  } finally {
    await app.kill();
  }
});

/** One OpenMetrics sample line with its exemplar: { labels, value, exemplar: { trace_id, span_id, value, timestamp } | undefined }. */
function openMetricsSample(text, name, labels) {
  const sel = `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}} `;
  const lines = text.split('\n').filter((l) => l.startsWith(sel));
  assert.equal(lines.length, 1, `${sel} in:\n${text}`);
  const m = /^\S+ (\S+)(?: # \{trace_id="([0-9a-f]{32})",span_id="([0-9a-f]{16})"\} (\S+) (\d+(?:\.\d+)?))?$/.exec(lines[0]);
  assert.ok(m, `not a sample with an optional exemplar: ${lines[0]}`);
  return { value: Number(m[1]), exemplar: m[2] ? { trace_id: m[2], span_id: m[3], value: Number(m[4]), timestamp: Number(m[5]) } : undefined };
}

test('exemplars: an OpenMetrics registry shows the active span\'s trace and span ids on the sample updated inside it, and Prometheus stores them', { timeout: 60000 }, async (t) => {
  const hookPort = await freePort();
  const appPort = await freePort();
  const t0 = Date.now() / 1000;
  const app = startApp(EXEMPLAR_APP, { OTEL_EXPORTER_PROMETHEUS_PORT: String(hookPort), APP_PORT: String(appPort) });
  try {
    const text = JSON.parse(await app.line('EXPOSITION'));
    const span = (what) => {
      const [traceId, spanId] = app.lines('SPAN').find((l) => l.startsWith(`${what} `)).split(' ').slice(1);
      assert.match(traceId, /^[0-9a-f]{32}$/, `${what} span: not recording?`);
      return { trace_id: traceId, span_id: spanId };
    };
    const http = span('http');
    const job = span('job');
    assert.notEqual(http.trace_id, job.trace_id);
    assert.match(text, /\n# EOF\n$/);
    const ex = (name, labels) => openMetricsSample(text, name, labels);
    const check = (s, value, ids, exValue) => {
      assert.equal(s.value, value);
      assert.ok(s.exemplar, 'no exemplar');
      assert.deepEqual({ trace_id: s.exemplar.trace_id, span_id: s.exemplar.span_id }, ids);
      assert.equal(s.exemplar.value, exValue);
      // Seconds since the epoch, when the app ran.
      assert.ok(s.exemplar.timestamp >= t0 - 1 && s.exemplar.timestamp <= Date.now() / 1000 + 1, `exemplar timestamp ${s.exemplar.timestamp}`);
    };
    check(ex('app_exemplar_requests_total', { route: '/work' }), 1, http, 1);
    check(ex('app_exemplar_latency_seconds_bucket', { le: '1', route: '/work' }), 1, http, 0.5);
    check(ex('app_exemplar_requests_total', { route: '/job' }), 2, job, 2);
    check(ex('app_exemplar_latency_seconds_bucket', { le: '+Inf', route: '/job' }), 1, job, 7);
    check(ex('app_exemplar_requests_total', { route: '/explicit' }), 3, { trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331' }, 3);
    assert.equal(ex('app_exemplar_requests_total', { route: '/none' }).exemplar, undefined, 'an exemplar outside any span');
    // Only the bucket the value fell in carries it.
    assert.equal(ex('app_exemplar_latency_seconds_bucket', { le: '0.1', route: '/work' }).exemplar, undefined);
    assert.equal(ex('app_exemplar_latency_seconds_bucket', { le: '+Inf', route: '/work' }).exemplar, undefined);
    // A metric only in the app's own registry stays off the hook's endpoint.
    const hookText = await poll(() => endpointText(hookPort), 10000);
    assert.doesNotMatch(hookText ?? '', /app_exemplar_/);

    await t.test('Prometheus with exemplar storage scrapes the registry and returns the exemplars', async (t2) => {
      if (noPrometheus(t2)) return;
      const prom = await startPrometheus([`127.0.0.1:${appPort}`], ['--enable-feature=exemplar-storage']);
      try {
        const exemplars = async (q) => {
          const res = await fetch(`${prom.base}/api/v1/query_exemplars?query=${encodeURIComponent(q)}&start=${t0 - 600}&end=${Date.now() / 1000 + 600}`, { signal: AbortSignal.timeout(3000) });
          const body = await res.json();
          if (body.status !== 'success') throw new Error(JSON.stringify(body));
          const out = {};
          for (const s of body.data) for (const e of s.exemplars) out[`${s.seriesLabels.route} ${s.seriesLabels.le ?? ''}`.trim()] = { ...e.labels, value: Number(e.value) };
          return out;
        };
        const want = { '/work': { ...http, value: 1 }, '/job': { ...job, value: 2 }, '/explicit': { trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331', value: 3 } };
        const got = await poll(async () => {
          const e = await exemplars('app_exemplar_requests_total');
          return Object.keys(e).length >= 3 ? e : undefined;
        }, 20000, 250);
        assert.deepEqual(got, want, `stderr: ${prom.stderr()}`);
        assert.deepEqual(await exemplars('app_exemplar_latency_seconds_bucket'), { '/work 1': { ...http, value: 0.5 }, '/job +Inf': { ...job, value: 7 } });
        const res = await fetch(`${prom.base}/api/v1/targets`, { signal: AbortSignal.timeout(3000) });
        const [target] = (await res.json()).data.activeTargets;
        assert.equal(target.health, 'up', JSON.stringify(target));
        assert.equal(target.lastError, '');
      } finally {
        await prom.close();
      }
    });
  } finally {
    await app.kill();
  }
});
