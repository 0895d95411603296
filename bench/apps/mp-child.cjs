'use strict';
// Child of bench/multiprocess.mjs, run under `--require otel-autoinstrument/register` with
// OTEL_METRICS_EXPORTER=prometheus on a loopback port: the real path, in which a worker thread's
// global MeterProvider is our ThreadMeterProvider (src/multiprocess) writing into a shard that
// this main thread reads when its /metrics is scraped.
//
// One process measures everything, in alternating rounds (the case order rotates each round;
// each case runs at least MP_N ops and about MP_TARGET_MS per round):
//   sdk, main     an ordinary SDK MeterProvider (with a reader) built here by hand, main thread;
//   sdk, worker   the same SDK built inside a worker thread (what an app had to do before);
//   ours, worker  api.metrics.getMeter() in a worker thread under our register;
//   noop, worker  the API's no-op meter (what a worker thread's api.metrics gave before).
// Then 4 workers adding at once (ours, and each with its own SDK), and at the end one scrape of
// this process's /metrics to check that every add made in a worker through ours is counted.
// Prints one JSON line.
const api = require('@opentelemetry/api');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

const N = Number(process.env.MP_N || 200000);
const ROUNDS = Number(process.env.MP_ROUNDS || 7);
const THREADS = Number(process.env.MP_THREADS || 4);
const M = Number(process.env.MP_M || 1000000);
const WARM = 20000;
const TARGET_MS = Number(process.env.MP_TARGET_MS || 50);
const ATTRS = { 'http.request.method': 'GET', 'http.route': '/users/:id', 'http.response.status_code': 200 };

function sdkMeter() {
  const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
  class Reader extends MetricReader {
    async onForceFlush() {}
    async onShutdown() {}
  }
  const reader = new Reader();
  return { meter: new MeterProvider({ readers: [reader] }).getMeter('bench'), reader };
}

/** The instruments of one meter: what each case calls. */
function instruments(meter) {
  const ops = meter.createCounter('bench.ops');
  const bare = meter.createCounter('bench.ops.bare');
  const h = meter.createHistogram('bench.latency', { unit: 'ms' });
  return {
    counter: () => ops.add(1, ATTRS),
    'counter, no attributes': () => bare.add(1),
    histogram: (i) => h.record(i % 200, ATTRS),
  };
}

/** ns per op (wall) and CPU ns per op of this thread alone. */
function time(op, n) {
  const c0 = process.threadCpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op(i);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  const c = process.threadCpuUsage(c0);
  return { ns, cpuNs: ((c.user + c.system) * 1000) / n };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (!isMainThread && workerData.role === 'rounds') {
  // A long-lived worker: runs one case per message.
  const meters = { ours: instruments(api.metrics.getMeter('bench')), noop: instruments(api.createNoopMeter()), sdk: instruments(sdkMeter().meter) };
  parentPort.on('message', ({ mode, op, n, end }) => (end ? parentPort.close() : parentPort.postMessage(time(meters[mode][op], n))));
  parentPort.postMessage({ provider: api.metrics.getMeterProvider().constructor.name });
} else if (!isMainThread && workerData.role === 'concurrent') {
  // One of THREADS workers adding at once, released together by the main thread.
  (async () => {
    let collect = async () => undefined;
    let meter = api.metrics.getMeter('bench');
    if (workerData.mode === 'sdk') {
      const s = sdkMeter();
      meter = s.meter;
      collect = async () => (await s.reader.collect()).resourceMetrics.scopeMetrics[0].metrics[0].dataPoints[0].value;
    }
    const c = meter.createCounter('bench.concurrent');
    const op = () => c.add(1, ATTRS);
    time(op, WARM);
    const gate = new Int32Array(workerData.gate);
    parentPort.postMessage({ ready: true });
    Atomics.wait(gate, 0, 0);
    const r = time(op, workerData.m);
    parentPort.postMessage({ ...r, total: await collect() });
  })();
} else {
  (async () => {
    const out = { n: N, rounds: ROUNDS, threads: THREADS, m: M, cases: {}, concurrent: {} };
    const w = new Worker(__filename, { workerData: { role: 'rounds' } });
    const reply = () => new Promise((r) => w.once('message', r));
    out.workerProvider = (await reply()).provider;
    const main = instruments(sdkMeter().meter);
    const run = async (mode, where, op, n) => {
      if (where === 'main') return time(main[op], n);
      w.postMessage({ mode, op, n });
      return reply();
    };
    const cases = [];
    for (const op of ['counter', 'counter, no attributes', 'histogram'])
      for (const [mode, where] of [['sdk', 'main'], ['ours', 'worker'], ['noop', 'worker'], ['sdk', 'worker']]) cases.push({ op, mode, where, key: `${op}/${mode}, ${where}` });
    const samples = Object.fromEntries(cases.map((c) => [c.key, []]));
    let oursAdds = 0;
    for (let r = 0; r <= ROUNDS; r++) {
      for (let k = 0; k < cases.length; k++) {
        const c = cases[(k + r) % cases.length];
        const s = await run(c.mode, c.where, c.op, c.n ?? N);
        if (c.mode === 'ours' && c.op === 'counter') oursAdds += c.n ?? N;
        // Round 0 warms every case up and sizes it: at least N ops and TARGET_MS, so that a
        // cheap op's thread CPU time is well above the clock's granularity.
        if (r === 0) c.n = Math.min(50 * N, Math.max(N, Math.ceil((TARGET_MS * 1e6) / Math.max(s.ns, 1))));
        else samples[c.key].push(s);
      }
    }
    for (const c of cases) out.cases[c.key] = { n: c.n, ns: median(samples[c.key].map((s) => s.ns)), cpuNs: median(samples[c.key].map((s) => s.cpuNs)), samples: samples[c.key].map((s) => Math.round(s.ns)) };
    // Ends on its own (not terminate()), so its shard is closed and retired as a thread's should be.
    const ended = new Promise((r) => w.once('exit', r));
    w.postMessage({ end: true });
    await ended;

    // THREADS workers at once, ours and SDK-per-worker alternating.
    let oursConcurrent = 0;
    const sdkTotals = [];
    const conc = { ours: [], sdk: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of r % 2 ? ['sdk', 'ours'] : ['ours', 'sdk']) {
        const gate = new Int32Array(new SharedArrayBuffer(4));
        const ws = Array.from({ length: THREADS }, () => new Worker(__filename, { workerData: { role: 'concurrent', mode, gate: gate.buffer, m: M } }));
        const exits = ws.map((x) => new Promise((resolve) => x.once('exit', resolve)));
        const msgs = ws.map((x) => {
          const got = [];
          return new Promise((resolve) => x.on('message', (m) => (got.push(m), got.length === 2 && resolve(got[1]))));
        });
        await Promise.all(ws.map((x) => new Promise((resolve) => x.once('message', resolve)))); // ready
        const t0 = process.hrtime.bigint();
        Atomics.store(gate, 0, 1);
        Atomics.notify(gate, 0);
        const results = await Promise.all(msgs);
        const wallNs = Number(process.hrtime.bigint() - t0);
        await Promise.all(exits);
        if (mode === 'ours') oursConcurrent += THREADS * (M + WARM);
        else sdkTotals.push(results.reduce((a, x) => a + x.total, 0));
        conc[mode].push({ ns: median(results.map((x) => x.ns)), cpuNs: median(results.map((x) => x.cpuNs)), allNs: wallNs / (THREADS * M) });
      }
    }
    for (const mode of ['ours', 'sdk']) out.concurrent[mode] = Object.fromEntries(['ns', 'cpuNs', 'allNs'].map((k) => [k, median(conc[mode].map((x) => x[k]))]));

    // Every add made through ours in a worker, counted by this process's scrape.
    const text = await (await fetch(`http://127.0.0.1:${process.env.OTEL_EXPORTER_PROMETHEUS_PORT}/metrics`)).text();
    const value = (name) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes('http_route="/users/:id"'));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    out.check = {
      rounds: { expected: oursAdds, scraped: value('bench_ops_total') },
      concurrent: { expected: oursConcurrent, scraped: value('bench_concurrent_total') },
      sdkPerWorker: { expected: sdkTotals.length * THREADS * (M + WARM), summed: sdkTotals.reduce((a, b) => a + b, 0) },
    };
    console.log(JSON.stringify(out));
  })();
}
