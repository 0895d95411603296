// The Prometheus drop-in (otel-autoinstrument/prometheus) with a plain require and no register
// hook (test/fixtures/apps/prometheus-no-hook/): in a cluster, with child_process.fork and with
// worker threads, the top process's register.metrics() and clusterMetrics() must give the exact
// totals of every contributor, the dead ones' included, and summaries the percentiles of all
// observations together; the same with the hook present; and a real Prometheus scraping the
// app's own route in the primary must store the same.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { parse, sampleValue } from '../helpers/prom-text.mjs';
import { freePort, poll, prometheusMissing, startPrometheus } from '../helpers/prometheus.mjs';
import { killAllApps, ROOT, runNode, startApp } from '../helpers/run.mjs';

const DIR = 'prometheus-no-hook';
const REGISTER_CJS = join(ROOT, 'register', 'index.cjs');

after(killAllApps);


// ---- What rounds of work.cjs add up to: one entry per round, its contributor's k ----

const payloadsOf = (k) => (k === 1 ? Array.from({ length: 3000 }, (_, j) => j + 1) : Array.from({ length: 200 }, (_, j) => 10000 * k + j + 1));
const PERCENTILES = [0.5, 0.9, 0.99];
const quantileOf = (sorted, q) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];

function expected(rounds) {
  const ks = rounds.reduce((a, k) => a + k, 0);
  const n = rounds.length;
  const payloads = rounds.flatMap(payloadsOf).sort((a, b) => a - b);
  return {
    exact: {
      jobs: { a: 1000 * n, b: ks },
      took: { buckets: { 0.1: ks, 1: ks + n, '+Inf': ks + 2 * n }, sum: 0.0625 * ks + 4.5 * n, count: ks + 2 * n },
      size: { sum: payloads.reduce((a, b) => a + b, 0), count: payloads.length },
    },
    quantiles: Object.fromEntries(PERCENTILES.map((q) => [q, quantileOf(payloads, q)])),
  };
}

/** The same state as an exposition (strictly parsed) shows it. */
function stateOf(text) {
  const fs = parse(text);
  const f = (name) => fs.find((x) => x.name === name);
  const jobs = {};
  for (const s of f('nh_jobs_total')?.samples ?? []) jobs[s.labels.queue] = s.value;
  const took = f('nh_job_seconds');
  const buckets = {};
  for (const s of took?.samples.filter((x) => x.name === 'nh_job_seconds_bucket') ?? []) buckets[s.labels.le === '+Inf' ? '+Inf' : Number(s.labels.le)] = s.value;
  const size = f('nh_payload_bytes');
  const quantiles = {};
  for (const s of size?.samples.filter((x) => x.name === 'nh_payload_bytes') ?? []) quantiles[Number(s.labels.quantile)] = s.value;
  return {
    exact: {
      jobs,
      took: { buckets, sum: took && sampleValue(took, 'nh_job_seconds_sum'), count: took && sampleValue(took, 'nh_job_seconds_count') },
      size: { sum: size && sampleValue(size, 'nh_payload_bytes_sum'), count: size && sampleValue(size, 'nh_payload_bytes_count') },
    },
    quantiles,
  };
}

const within2pc = (got, want) => typeof got === 'number' && Math.abs(got - want) <= 0.02 * want;
const matches = (state, want) => isDeepStrictEqual(state?.exact, want.exact) && PERCENTILES.every((q) => within2pc(state.quantiles[q], want.quantiles[q]));

function assertState(state, want, where) {
  assert.deepEqual(state.exact, want.exact, `${where}: totals`);
  for (const q of PERCENTILES) assert.ok(within2pc(state.quantiles[q], want.quantiles[q]), `${where}: p${q * 100} is ${state.quantiles[q]}, all payloads together give ${want.quantiles[q]} (2 % allowed)`);
}

/** The data is such that averaging each contributor's percentiles (prom-client's cluster mode) fails. */
function assertAveragingFails(ks, want) {
  for (const q of PERCENTILES) {
    const avg = ks.reduce((s, k) => s + quantileOf(payloadsOf(k), q), 0) / ks.length;
    assert.ok(!within2pc(avg, want.quantiles[q]), `bad test data: the average of the p${q * 100}s (${avg}) is close to the true one`);
  }
}

async function routeText(port, path) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return text;
}

/** stderr but for worker 4's crash, which the cluster app causes on purpose. */
const unexpectedStderr = (stderr) =>
  stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/worker 4 crashes on purpose|^\s+at |^\s*\^\s*$|^Node\.js v|cluster-app\.cjs:\d+$|throw new Error/.test(l))
    .join('\n');

// Worker 3 is killed after its first round; 1, 2 and 4 do a second round right before they end.
const CLUSTER_ROUNDS = [1, 2, 3, 4, 1, 2, 4];

/** Runs the cluster app; resolves with its port once its four workers have ended, and the app. */
async function clusterApp(t, { nodeArgs = [], env = {} } = {}) {
  const port = await freePort();
  const app = startApp(nodeArgs, `${DIR}/cluster-app.cjs`, { env: { APP_PORT: String(port), OTEL_NODE_MULTIPROCESS_INTERVAL: '200', ...env } });
  t.after(() => app.kill());
  await app.line('LISTENING');
  const exits = await poll(() => (app.lines('EXIT').length === 4 ? app.lines('EXIT') : undefined), 30000, 25);
  assert.ok(exits, `the workers did not all end.\nstdout:\n${app.stdout}\nstderr:\n${app.stderr}`);
  assert.deepEqual(exits.sort(), ['1 0 null', '2 0 null', '3 null SIGKILL', '4 1 null']);
  t.after(() => assert.deepEqual(app.lines('FOREIGN'), [], "the app's message handlers saw only the app's messages"));
  return { app, port };
}

/** register.metrics() (/metrics) and clusterMetrics() (/cluster) in the primary, until both show `want`; asserts they do. */
async function assertPrimary(port, want, where) {
  let last;
  await poll(async () => {
    last = { 'register.metrics()': stateOf(await routeText(port, '/metrics')), 'clusterMetrics()': stateOf(await routeText(port, '/cluster')) };
    return Object.values(last).every((s) => matches(s, want));
  }, 15000);
  assert.ok(last, `${where}: the primary's route never answered`);
  for (const [k, s] of Object.entries(last)) assertState(s, want, `${where}, ${k}`);
}

const HOOK = { nodeArgs: ['--require', REGISTER_CJS], env: { OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_NODE_RUNTIME_METRICS: 'none', OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1' } };

test('cluster without the hook: the primary\'s register.metrics() and clusterMetrics() are exact across 4 workers, one killed, one crashed; Prometheus scrapes the same from the app\'s route', { timeout: 90000 }, async (t) => {
  const want = expected(CLUSTER_ROUNDS);
  assertAveragingFails([1, 2, 3, 4], expected([1, 2, 3, 4]));
  const { app, port } = await clusterApp(t);
  await assertPrimary(port, want, 'no hook');
  assert.equal(unexpectedStderr(app.stderr), '', 'no warning or error but the planned crash');

  await t.test('a real Prometheus scraping the primary\'s route stores the same totals', async (t2) => {
    const missing = prometheusMissing();
    if (missing !== undefined) {
      if (process.env.CI === 'true') assert.fail(`CI=true and ${missing}`);
      t2.skip(missing);
      return;
    }
    const prom = await startPrometheus([`127.0.0.1:${port}`]);
    try {
      const state = async () => {
        const [a, b, bkt, sum, count, q, psum, pcount] = await Promise.all(
          ['nh_jobs_total{queue="a"}', 'nh_jobs_total{queue="b"}', 'nh_job_seconds_bucket', 'nh_job_seconds_sum', 'nh_job_seconds_count', 'nh_payload_bytes', 'nh_payload_bytes_sum', 'nh_payload_bytes_count'].map((x) => prom.query(x)),
        );
        const buckets = {};
        for (const r of bkt) buckets[r.metric.le === '+Inf' ? '+Inf' : Number(r.metric.le)] = r.value;
        const quantiles = {};
        for (const r of q) quantiles[Number(r.metric.quantile)] = r.value;
        return {
          exact: { jobs: { a: a[0]?.value, b: b[0]?.value }, took: { buckets, sum: sum[0]?.value, count: count[0]?.value }, size: { sum: psum[0]?.value, count: pcount[0]?.value } },
          quantiles,
        };
      };
      const got = await poll(async () => {
        const s = await state();
        return matches(s, want) ? s : undefined;
      }, 30000, 250);
      assertState(got ?? (await state()), want, `Prometheus (stderr: ${prom.stderr()})`);
      assert.deepEqual((await prom.query('up')).map((r) => r.value), [1]);
    } finally {
      await prom.close();
    }
  });
});

test('cluster without the hook, the primary requiring the drop-in only after its workers have worked: the same exact totals', { timeout: 60000 }, async (t) => {
  const { app, port } = await clusterApp(t, { env: { LATE: '1' } });
  await assertPrimary(port, expected(CLUSTER_ROUNDS), 'late primary');
  assert.equal(unexpectedStderr(app.stderr), '');
});

test('cluster with the register hook too (Prometheus exporter on): nothing counted twice, the same totals on the route and on the hook\'s endpoint', { timeout: 60000 }, async (t) => {
  const hookPort = await freePort();
  const want = expected(CLUSTER_ROUNDS);
  const { app, port } = await clusterApp(t, { nodeArgs: HOOK.nodeArgs, env: { ...HOOK.env, OTEL_METRICS_EXPORTER: 'prometheus', OTEL_EXPORTER_PROMETHEUS_PORT: String(hookPort) } });
  await assertPrimary(port, want, 'hook');
  const endpoint = await poll(async () => {
    const s = stateOf(await routeText(hookPort, '/metrics'));
    return matches(s, want) ? s : undefined;
  }, 15000);
  assertState(endpoint ?? stateOf(await routeText(hookPort, '/metrics')), want, "the hook's endpoint");
  assert.equal(unexpectedStderr(app.stderr), '');
});

test('cluster with the register hook but no metrics exporter: the drop-in sets up on its own, same totals', { timeout: 60000 }, async (t) => {
  const { app, port } = await clusterApp(t, { nodeArgs: HOOK.nodeArgs, env: { ...HOOK.env, OTEL_METRICS_EXPORTER: 'none' } });
  await assertPrimary(port, expected(CLUSTER_ROUNDS), 'hook without metrics');
  assert.equal(unexpectedStderr(app.stderr), '');
});

/** Runs a fixture that prints "RESULT <json>" and ends; the RESULT's state. */
async function resultOf(script, env = {}) {
  const r = await runNode([], `${DIR}/${script}`, { env: { OTEL_NODE_MULTIPROCESS_INTERVAL: '200', ...env }, timeoutMs: 30000 });
  assert.equal(r.code, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.equal(r.stderr, '', 'no warning or error');
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, r.stdout);
  return stateOf(JSON.parse(line.slice('RESULT '.length)));
}

test('child_process.fork without the hook: children that end by themselves, by process.exit() and a grandchild all count, exactly', { timeout: 60000 }, async () => {
  const want = expected([1, 2, 3, 4]);
  assertAveragingFails([1, 2, 3, 4], want);
  assertState(await resultOf('fork-app.cjs'), want, 'fork');
});

test('worker threads without the hook: 4 threads that end right after recording count exactly', { timeout: 60000 }, async () => {
  assertState(await resultOf('thread-app.cjs'), expected([1, 2, 3, 4]), 'threads');
});

test('worker threads started before the main thread required the drop-in: found, and exact after a second round', { timeout: 60000 }, async () => {
  assertState(await resultOf('thread-app.cjs', { LATE: '1' }), expected([1, 2, 3, 4, 1, 2, 3, 4]), 'threads, late main');
});

test('OTEL_NODE_MULTIPROCESS_METRICS=off: each process counts for itself; a bad OTEL_NODE_MULTIPROCESS_INTERVAL is one warning naming it', async () => {
  const off = await runNode([], `${DIR}/fork-app.cjs`, { env: { OTEL_NODE_MULTIPROCESS_METRICS: 'off' }, timeoutMs: 30000 });
  assert.equal(off.code, 0, off.stderr);
  const line = off.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.deepEqual(stateOf(JSON.parse(line.slice('RESULT '.length))).exact.jobs, {}, 'the parent shows no child');
  const bad = await runNode(['-e', "require('otel-autoinstrument/prometheus')"], '', { env: { OTEL_NODE_MULTIPROCESS_INTERVAL: 'fast' } });
  assert.equal(bad.code, 0);
  assert.equal(bad.stderr, 'otel-autoinstrument: warning: OTEL_NODE_MULTIPROCESS_INTERVAL="fast" is not a number; using the default "1000"\n');
});
