#!/usr/bin/env node
// Multiprocess metrics: `npm run bench:multiprocess [-- --node 22|24|PATH --n N --rounds R]`.
//
// What recording a metric in a worker thread costs through ours (src/multiprocess: the worker's
// global MeterProvider writes a SharedArrayBuffer shard), against an ordinary SDK counter in one
// thread (the baseline), the API no-op a worker thread got before, and an SDK built inside the
// worker; then 4 workers adding at once; then what a collection of the topmost process costs with
// 8 contributors x 1000 series, in-process and as a real Prometheus scrape of a cluster primary.
//   1. thread path   bench/apps/mp-child.cjs under --require register, OTEL_METRICS_EXPORTER=
//                    prometheus on a loopback port (the real path), cases in alternating rounds
//                    inside each child; --repeats children; its scrape checks the totals.
//   2. in-process    bench/apps/mp-fold.cjs: Multiprocess.wrap(reader).collect() + serialize.
//   3. scrape        bench/apps/mp-cluster.cjs: 8 cluster workers x 1000 counter series under
//                    register, the primary's /metrics timed; baseline the primary alone with the
//                    same 1000 series; alternating rounds.
// Exits 0 whatever the numbers.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.mjs';
import { saveResults } from './results.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { args, opt, node } = benchArgs('usage: node bench/multiprocess.mjs [--node 22|24|PATH] [--n OPS] [--rounds R] [--repeats C] [--m ADDS] [--workers W] [--series S] [--scrapes K] [--scrape-rounds R] [--json FILE]');
const N = opt('--n', '200000');
const ROUNDS = opt('--rounds', '7');
const REPEATS = Number(opt('--repeats', '2'));
const M = opt('--m', '1000000');
const THREADS = opt('--threads', '4');
const WORKERS = Number(opt('--workers', '8'));
const SERIES = Number(opt('--series', '1000'));
const SCRAPES = Number(opt('--scrapes', '30'));
const SCRAPE_ROUNDS = Number(opt('--scrape-rounds', '3'));
const json = opt('--json');

const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS'));
const REGISTER = ['--require', join(root, 'register', 'index.cjs')];
const otelEnv = (port) => ({
  ...clean,
  OTEL_SERVICE_NAME: 'bench',
  OTEL_METRICS_EXPORTER: 'prometheus',
  OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
  OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
  OTEL_TRACES_EXPORTER: 'none',
  OTEL_LOGS_EXPORTER: 'none',
  OTEL_NODE_RUNTIME_METRICS: 'none',
  OTEL_NODE_RESOURCE_DETECTORS: 'env',
});

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Runs a child to its end; resolves with its last stdout line as JSON, or {error}. */
function runJson(flags, script, env, timeoutMs = 300_000) {
  return new Promise((resolve) => {
    const c = spawn(node, [...flags, join(here, 'apps', script)], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('close', (code) => {
      clearTimeout(t);
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)));
      } catch {
        resolve({ error: `exit ${code}: ${err.slice(0, 500)}` });
      }
    });
  });
}

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const x = (a, b) => `${(a / b).toFixed(2)}x`;

const version = await new Promise((r) => {
  const c = spawn(node, ['--version']);
  let o = '';
  c.stdout.on('data', (d) => (o += d));
  c.on('close', () => r(o.trim()));
});
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const loadBefore = load();
console.log(`multiprocess metrics: node ${version}, load average ${loadBefore}`);

// ---- 1. thread path ------------------------------------------------------------------------------
console.log(`\n1. thread path: ${N} ops x ${ROUNDS} rounds per case (median), cases alternating; ${REPEATS} children under --require register (OTEL_METRICS_EXPORTER=prometheus); medians of those`);
const children = [];
for (let i = 0; i < REPEATS; i++) children.push(await runJson(REGISTER, 'mp-child.cjs', { ...otelEnv(await freePort()), MP_N: N, MP_ROUNDS: ROUNDS, MP_M: M, MP_THREADS: THREADS }));
const ok = children.filter((c) => !c.error);
for (const c of children) if (c.error) console.log(`child failed: ${c.error}`);
const pick = (path) => median(ok.map((c) => path.split('.').reduce((o, k) => o?.[k], c)));
const thread = { cases: {}, concurrent: {} };
if (ok.length > 0) {
  console.log(`worker thread's global meter provider under ours: ${ok.map((c) => c.workerProvider).join(', ')}`);
  console.log('\noperation                    where                     ops/round   ns/op   CPU ns/op   vs SDK main: wall    CPU');
  for (const [op, label] of [['counter', 'counter add, 3 attrs'], ['counter, no attributes', 'counter add, no attrs'], ['histogram', 'histogram record, 3 attrs']]) {
    const base = ok.map((c) => c.cases[`${op}/sdk, main`].ns);
    const baseCpu = ok.map((c) => c.cases[`${op}/sdk, main`].cpuNs);
    for (const [key, where] of [['sdk, main', 'SDK, main thread'], ['ours, worker', 'ours, worker thread'], ['noop, worker', 'API no-op, worker'], ['sdk, worker', 'SDK built in worker']]) {
      const cs = ok.map((c) => c.cases[`${op}/${key}`]);
      const ns = median(cs.map((c) => c.ns));
      const cpu = median(cs.map((c) => c.cpuNs));
      // The ratio per child (same child, same rounds), then the median of those.
      const ratio = median(cs.map((c, i) => c.ns / base[i]));
      const cpuRatio = median(cs.map((c, i) => c.cpuNs / baseCpu[i]));
      thread.cases[`${op}/${key}`] = { ns, cpuNs: cpu, vsSdkMain: ratio, cpuVsSdkMain: cpuRatio, n: median(cs.map((c) => c.n)) };
      console.log(`${(key === 'sdk, main' ? label : '').padEnd(28)} ${where.padEnd(20)} ${String(median(cs.map((c) => c.n))).padStart(14)} ${ns.toFixed(0).padStart(7)} ${cpu.toFixed(0).padStart(11)} ${`${ratio.toFixed(2)}x`.padStart(19)} ${`${cpuRatio.toFixed(2)}x`.padStart(6)}`);
    }
  }
  console.log(`\n${THREADS} worker threads adding at once, ${M} adds each (3 attrs), ${ROUNDS} rounds alternating; median thread's ns/op`);
  console.log('mode                   ns/op per thread   CPU ns/op   wall ns per add, all threads   CPU vs 1-thread SDK');
  const sdkMainCpu = pick('cases.counter/sdk, main.cpuNs');
  for (const [mode, label] of [['ours', 'ours (shards)'], ['sdk', 'SDK in each worker']]) {
    const c = { ns: pick(`concurrent.${mode}.ns`), cpuNs: pick(`concurrent.${mode}.cpuNs`), allNs: pick(`concurrent.${mode}.allNs`) };
    thread.concurrent[mode] = c;
    console.log(`${label.padEnd(22)} ${c.ns.toFixed(0).padStart(16)} ${c.cpuNs.toFixed(0).padStart(11)} ${c.allNs.toFixed(0).padStart(30)} ${x(c.cpuNs, sdkMainCpu).padStart(21)}`);
  }
  for (const c of ok) {
    const k = c.check;
    const exact = k.rounds.scraped === k.rounds.expected && k.concurrent.scraped === k.concurrent.expected;
    console.log(`totals scraped from the main thread's /metrics: single worker ${k.rounds.scraped} of ${k.rounds.expected}, ${THREADS} threads x ${ROUNDS} rounds ${k.concurrent.scraped} of ${k.concurrent.expected}: ${exact ? 'exact' : 'NOT EXACT'}; SDK per worker ${k.sdkPerWorker.summed} of ${k.sdkPerWorker.expected}`);
  }
}

// ---- 2. in-process collection --------------------------------------------------------------------
console.log(`\n2. one collection in-process: Multiprocess.wrap(PrometheusExporter).collect() + PrometheusSerializer + Multiprocess.dropInText() (what our /metrics handler runs), ${WORKERS} contributors x ${SERIES} series (the same attribute sets: ${SERIES} series out); baseline the same ${SERIES} series in the process's own SDK`);
const folded = await runJson([], 'mp-fold.cjs', { ...clean, MP_WORKERS: String(WORKERS), MP_SERIES: String(SERIES), MP_ROUNDS: '15' });
if (folded.error) console.log(`failed: ${folded.error}`);
else {
  console.log('kind        variant     collect ms   serialize ms   drop-in text ms   total ms      bytes   total vs baseline   check');
  for (const [kind, r] of Object.entries(folded.kinds)) {
    for (const v of ['baseline', 'ours']) {
      const s = r[v];
      const check = v === 'ours' ? `${r.check.series} series, sum ${r.check.sum === r.check.expected ? 'exact' : `${r.check.sum} != ${r.check.expected}`}` : '';
      console.log(`${(v === 'baseline' ? kind : '').padEnd(11)} ${v.padEnd(9)} ${s.collect.toFixed(2).padStart(12)} ${s.serialize.toFixed(2).padStart(14)} ${(v === 'ours' ? s.dropIn.toFixed(2) : '').padStart(17)} ${s.total.toFixed(2).padStart(10)} ${String(s.bytes).padStart(10)} ${x(s.total, r.baseline.total).padStart(19)}   ${check}`);
    }
  }
}

if (!folded.error && folded.counterSteps) console.log(`counters, the merge's first step alone (Aggregate.foldInto of ${WORKERS} x ${SERIES}): ${folded.counterSteps.foldInto.toFixed(2)} ms, of which attrKey() for each point: ${folded.counterSteps.attrKeys.toFixed(2)} ms`);

// ---- 3. real Prometheus scrape of a cluster primary ----------------------------------------------
/** Starts the cluster app; resolves with its port and a kill function once every series is in. */
async function startCluster(workers) {
  const port = await freePort();
  const c = spawn(node, [...REGISTER, join(here, 'apps', 'mp-cluster.cjs')], {
    cwd: root,
    env: { ...otelEnv(port), MP_WORKERS: String(workers), MP_SERIES: String(SERIES), MP_PER: String(WORKERS) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let err = '';
  c.stderr.on('data', (d) => (err += d));
  const exited = new Promise((r) => c.once('exit', r));
  const kill = async () => {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
  };
  const t0 = Date.now();
  const ready = await Promise.race([new Promise((r) => c.stdout.on('data', (d) => String(d).includes('ready') && r(true))), exited.then(() => false), new Promise((r) => setTimeout(() => r(false), 120_000))]);
  if (!ready) {
    await kill();
    return { error: `not ready: ${err.slice(0, 300)}` };
  }
  // Cluster workers send their snapshots every second: wait until every series has every add.
  const expected = WORKERS * SERIES;
  let last = '';
  for (;;) {
    const text = await scrape(port).then(
      (s) => ((last = `HTTP ${s.status}`), s.text),
      (e) => ((last = String(e.cause?.code ?? e.message)), ''),
    );
    const lines = text.split('\n').filter((l) => l.startsWith('bench_series_total{'));
    const sum = lines.reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    if (lines.length === SERIES && sum === expected) return { port, kill, startMs: Date.now() - t0, series: lines.length, sum };
    if (Date.now() - t0 > 120_000) {
      await kill();
      return { error: `series never complete in 120 s: ${lines.length} series, sum ${sum} of ${expected}; last scrape ${last}; stderr: ${err.slice(0, 300)}` };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function scrape(port) {
  const t0 = process.hrtime.bigint();
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes: text.length, status: res.status, text };
}

console.log(`\n3. Prometheus scrape of a cluster primary under --require register: ${WORKERS} cluster workers x ${SERIES} counter series (the same attribute sets in each: ${SERIES} series merged); baseline the primary alone recording the same ${SERIES} series; ${SCRAPE_ROUNDS} rounds alternating, ${SCRAPES} scrapes each`);
const scrapes = { baseline: [], ours: [] };
const starts = { baseline: [], ours: [] };
let bytes = {};
for (let r = 0; r < SCRAPE_ROUNDS; r++) {
  for (const v of r % 2 ? ['ours', 'baseline'] : ['baseline', 'ours']) {
    const c = await startCluster(v === 'ours' ? WORKERS : 0);
    if (c.error) {
      console.log(`${v}: ${c.error}`);
      continue;
    }
    starts[v].push(c.startMs);
    await scrape(c.port); // warm-up
    for (let i = 0; i < SCRAPES; i++) {
      const s = await scrape(c.port);
      if (s.status === 200) scrapes[v].push(s.ms);
      bytes[v] = s.bytes;
    }
    await c.kill();
  }
}
const scrapeSummary = {};
if (scrapes.baseline.length && scrapes.ours.length) {
  console.log('variant                                       median ms   p90 ms   min ms     bytes   median vs baseline');
  for (const [v, label] of [['baseline', `primary alone, ${SERIES} series`], ['ours', `${WORKERS} workers x ${SERIES} series, merged`]]) {
    const s = { median: median(scrapes[v]), p90: quantile(scrapes[v], 0.9), min: Math.min(...scrapes[v]), bytes: bytes[v], n: scrapes[v].length, readyMs: median(starts[v]) };
    scrapeSummary[v] = s;
    console.log(`${label.padEnd(45)} ${s.median.toFixed(2).padStart(9)} ${s.p90.toFixed(2).padStart(8)} ${s.min.toFixed(2).padStart(8)} ${String(s.bytes).padStart(9)} ${x(s.median, median(scrapes.baseline)).padStart(20)}`);
  }
  console.log(`issue 10's target, a scrape under 10 ms for ${WORKERS} workers x ${SERIES} series: ${scrapeSummary.ours.median < 10 ? 'met' : 'not met'} (median ${scrapeSummary.ours.median.toFixed(1)} ms)`);
}

const loadAfter = load();
console.log(`\nload average after: ${loadAfter}`);
const raw = {
  node: version,
  command: `node bench/multiprocess.mjs ${args.join(' ')}`.trim(),
  load: { before: loadBefore, after: loadAfter },
  params: { n: Number(N), rounds: Number(ROUNDS), repeats: REPEATS, m: Number(M), threads: Number(THREADS), workers: WORKERS, series: SERIES, scrapes: SCRAPES, scrapeRounds: SCRAPE_ROUNDS },
  thread,
  inProcess: folded,
  scrape: { summary: scrapeSummary, samples: scrapes },
  children,
};
if (json) writeFileSync(json, JSON.stringify(raw, null, 1));
console.log(`results: ${saveResults('multiprocess', version, raw)}`);
process.exit(0);
