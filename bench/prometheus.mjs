#!/usr/bin/env node
// Prometheus drop-in: `npm run bench:prometheus [-- --node 22 --rounds R --target-ms MS --scrapes S]`.
//
// otel-autoinstrument/prometheus against prom-client 15.1.3, in the same processes, the two
// libraries alternating round by round (children in bench/apps/prometheus/):
//   single thread   each operation (ops.cjs) in a main thread under the register hook;
//   4 threads       the same in 4 worker threads at once; ours' totals then read through
//                   register.metrics() in the main thread (prom-client has no view across
//                   threads: its numbers are each thread's own cost only);
//   4 workers       the same in 4 cluster workers at once; ours' totals read in the primary;
//   scrape          8 cluster workers x 1,000 series: a GET of our endpoint (this process times
//                   it) and ours' register.metrics() in the primary, against prom-client's
//                   AggregatorRegistry.clusterMetrics() in the primary; then with a 1,000-series
//                   histogram per worker added.
// Every child runs `--require otel-autoinstrument/register` with OTEL_METRICS_EXPORTER=prometheus
// on a free port on 127.0.0.1, so the multiprocess store is active. Exits 0 whatever the numbers.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.mjs';
import { saveResults } from './results.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const apps = join(here, 'apps', 'prometheus');
const { args, opt, node } = benchArgs('usage: node bench/prometheus.mjs [--node 22|24|PATH] [--rounds 11] [--target-ms 60] [--scrapes 25] [--threads 4] [--workers 4] [--scrape-workers 8] [--series 1000] [--json FILE] [--only ops|scrape] [--cpu-prof DIR]');
const ROUNDS = opt('--rounds', '11');
const TARGET_MS = opt('--target-ms', '60');
const SCRAPES = Number(opt('--scrapes', '25'));
const THREADS = opt('--threads', '4');
const WORKERS = opt('--workers', '4');
const SCRAPE_WORKERS = Number(opt('--scrape-workers', '8'));
const SERIES = Number(opt('--series', '1000'));
const json = opt('--json');
// Every child (and the cluster workers, which inherit it) writes a CPU profile there:
// `node bench/cpuprofile-top.mjs FILE` reads one.
const cpuProf = opt('--cpu-prof');
const ONLY = opt('--only');
if (ONLY !== undefined && ONLY !== 'ops' && ONLY !== 'scrape') {
  console.error('--only takes ops or scrape');
  process.exit(2);
}
const REGISTER = [...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : []), '--require', join(root, 'register', 'index.cjs')];
if (!existsSync(join(root, 'dist', 'prometheus', 'index.js'))) {
  console.error('dist/ is missing: run `npm run build` (npm run bench:prometheus does)');
  process.exit(1);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS'));
async function envFor(extra) {
  return {
    ...clean,
    OTEL_SERVICE_NAME: 'bench',
    OTEL_METRICS_EXPORTER: 'prometheus',
    OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
    OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()),
    OTEL_TRACES_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    // Left out of both sides: prom-client's default metrics are not collected either.
    OTEL_NODE_RUNTIME_METRICS: 'none',
    OTEL_NODE_MULTIPROCESS_INTERVAL: '200',
    OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process,serviceinstance',
    PROM_ROUNDS: ROUNDS,
    PROM_TARGET_MS: TARGET_MS,
    ...extra,
  };
}

function spawnChild(file, env, ipc = false) {
  const c = spawn(node, [...REGISTER, join(apps, file)], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])] });
  let out = '';
  let err = '';
  c.stdout.on('data', (d) => (out += d));
  c.stderr.on('data', (d) => (err += d));
  const timer = setTimeout(() => c.kill('SIGKILL'), 240_000);
  const closed = new Promise((resolve) => c.on('close', (code) => (clearTimeout(timer), resolve({ code, out, err }))));
  return { c, closed };
}

async function runJson(file, env) {
  const { code, out, err } = await spawnChild(file, env).closed;
  try {
    return JSON.parse(out.trim().split('\n').at(-1));
  } catch {
    throw new Error(`${file}: exit ${code}: ${err.slice(-2000)}`);
  }
}

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const quartiles = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return [s[Math.floor((s.length - 1) / 4)], s[Math.ceil(((s.length - 1) * 3) / 4)]];
};

/** Per operation: median ns/op and mean thread-CPU ns/op over rounds (and threads or workers), and ours/prom. */
function summarize(sampleSets) {
  const out = {};
  for (const op of Object.keys(sampleSets[0])) {
    const all = (lib, f) => sampleSets.flatMap((s) => s[op][lib].map((x) => x[f]));
    // Thread CPU time advances in coarse, uneven steps here (a round may read 0): its mean over
    // rounds is steadier than its median.
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const libs = Object.keys(sampleSets[0][op]);
    const row = Object.fromEntries(libs.map((l) => [l, { ns: median(all(l, 'ns')), cpuNs: mean(all(l, 'cpuNs')) }]));
    if (row.ours && row.prom) {
      // Each round's ours and prom ran back to back: their ratio per round shows the spread.
      const perRound = sampleSets.flatMap((s) => s[op].ours.map((x, i) => x.ns / s[op].prom[i].ns));
      row.ratio = row.ours.ns / row.prom.ns;
      row.cpuRatio = row.ours.cpuNs / row.prom.cpuNs;
      row.ratioRange = quartiles(perRound);
    }
    out[op] = row;
  }
  return out;
}

function printOps(title, rows) {
  console.log(`\n${title}`);
  console.log(`${'operation'.padEnd(33)} ours ns  prom ns  ours/prom (IQR of rounds)   CPU: ours   prom  ours/prom`);
  for (const [op, r] of Object.entries(rows)) {
    if (!r.ours) {
      const [[lib, v]] = Object.entries(r);
      console.log(`${op.padEnd(33)} ${v.ns.toFixed(0).padStart(7)}  (${lib})`);
      continue;
    }
    const iqr = `(${r.ratioRange[0].toFixed(2)}-${r.ratioRange[1].toFixed(2)})`;
    console.log(
      `${op.padEnd(33)} ${r.ours.ns.toFixed(0).padStart(7)}  ${r.prom.ns.toFixed(0).padStart(7)}  ${r.ratio.toFixed(2).padStart(9)} ${iqr.padEnd(15)}  ${r.ours.cpuNs.toFixed(0).padStart(9)}  ${r.prom.cpuNs.toFixed(0).padStart(5)}  ${r.cpuRatio.toFixed(2).padStart(9)}`,
    );
  }
}

function printTotals(totals) {
  const ok = Object.values(totals).every((t) => t.seen === t.expected);
  const list = Object.values(totals).map((t) => `${t.metric} ${t.seen}/${t.expected}`);
  console.log(`ours' totals ${ok ? 'exact' : 'WRONG'}: ${list.join(', ')}`);
  return ok;
}

function httpGet(url, agent) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = get(url, { agent }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('GET timed out')));
    req.on('error', reject);
  });
}

function sumOf(text, name) {
  let sum = 0;
  let seen = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    seen++;
  }
  return { sum, seen };
}

/** The scrape scenario: one primary, SCRAPE_WORKERS workers; returns each phase's timings. */
async function scrape() {
  const env = await envFor({ PROM_WORKERS: String(SCRAPE_WORKERS), PROM_SERIES: String(SERIES) });
  const url = `http://127.0.0.1:${env.OTEL_EXPORTER_PROMETHEUS_PORT}/metrics`;
  const { c, closed } = spawnChild('scrape.cjs', env, true);
  let id = 0;
  const pending = new Map();
  c.on('message', (m) => pending.get(m.id)?.(m));
  const ask = (cmd, extra = {}) =>
    new Promise((resolve, reject) => {
      const i = ++id;
      pending.set(i, (m) => (m.error ? reject(new Error(m.error)) : resolve(m)));
      c.send({ cmd, id: i, ...extra });
    });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const out = {};
  try {
    const t0 = Date.now();
    await ask('ready');
    for (const phase of ['counter', 'counter + histogram']) {
      if (phase !== 'counter') await ask('histograms');
      // All workers' series are in once every series shows the sum of SCRAPE_WORKERS incs.
      const want = (text) => {
        const ctr = sumOf(text, 'bench_scrape_total');
        const hist = sumOf(text, 'bench_scrape_seconds_count');
        return ctr.sum === SCRAPE_WORKERS * SERIES && ctr.seen === SERIES && (phase === 'counter' || hist.sum === SCRAPE_WORKERS * SERIES);
      };
      const tp = Date.now();
      for (;;) {
        const r = await httpGet(url, agent).catch(() => undefined);
        if (r?.status === 200 && want(r.text)) break;
        if (Date.now() - tp > 60_000) throw new Error(`${phase}: not every worker's series reached the endpoint within 60 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const presentMs = Date.now() - (phase === 'counter' ? t0 : tp);
      const check = await ask('prom');
      const full = SCRAPE_WORKERS * SERIES;
      if (check.counter.sum !== full || (phase !== 'counter' && check.histogram.sum !== full)) throw new Error(`${phase}: prom-client's clusterMetrics() is missing series (${JSON.stringify(check)})`);
      const idle = await ask('idle', { ms: 2000 });
      const t = { get: [], ours: [], prom: [] };
      let bytes = {};
      const steps = {
        get: async () => {
          const r = await httpGet(url, agent);
          if (!want(r.text)) throw new Error(`${phase}: a GET missed series`);
          t.get.push(r.ms);
          bytes.get = Buffer.byteLength(r.text);
        },
        ours: async () => {
          const r = await ask('ours');
          t.ours.push(r.ms);
          bytes.ours = r.bytes;
        },
        prom: async () => {
          const r = await ask('prom');
          t.prom.push(r.ms);
          bytes.prom = r.bytes;
        },
      };
      const order = Object.keys(steps);
      for (let i = 0; i < SCRAPES; i++) for (let k = 0; k < order.length; k++) await steps[order[(i + k) % order.length]]();
      out[phase] = {
        presentMs,
        primaryIdleCpuMsPerS: idle.cpuMs / 2,
        bytes,
        ...Object.fromEntries(Object.entries(t).map(([k, xs]) => [k, { medianMs: median(xs), iqrMs: quartiles(xs), samples: xs }])),
      };
    }
    await ask('stop');
  } finally {
    agent.destroy();
    setTimeout(() => c.kill('SIGKILL'), 5000).unref();
  }
  const { code, err } = await closed;
  if (code !== 0 && code !== null) console.log(`scrape primary exited ${code}: ${err.slice(-500)}`);
  return out;
}

const version = await new Promise((r) => {
  const c = spawn(node, ['--version']);
  let o = '';
  c.stdout.on('data', (d) => (o += d));
  c.on('close', () => r(o.trim()));
});
const prom = JSON.parse((await import('node:fs')).readFileSync(join(root, 'node_modules', 'prom-client', 'package.json'), 'utf8')).version;
console.log(`prometheus drop-in vs prom-client ${prom}: node ${version}, ${ROUNDS} rounds of ~${TARGET_MS} ms per operation and library, alternating; medians`);
console.log('ns = wall time per call, median over rounds; CPU = the thread\'s CPU time per call (process.threadCpuUsage), mean over rounds');

const started = Date.now();
const loadBefore = loadavg()[0];
const raw = { node: version, promClient: prom, command: `node bench/prometheus.mjs ${args.join(' ')}`.trim(), rounds: Number(ROUNDS), targetMs: Number(TARGET_MS), summary: {} };
const targets = [];

if (ONLY !== 'scrape') {
  const threads = await runJson('threads.cjs', await envFor({ PROM_THREADS: THREADS }));
  const single = summarize([threads.single]);
  const reference = summarize([threads.reference]);
  printOps('single thread (main thread, under the register hook)', { ...single, ...reference });
  const multi = summarize(threads.threads);
  printOps(`${THREADS} worker threads at once (per thread; prom-client: each thread's own registry, no view across threads)`, multi);
  const threadTotalsOk = printTotals(threads.totals);
  console.log(`ours' register.metrics() in the main thread, ${THREADS} ended threads' shards and its own: ${threads.metricsReadMs.map((x) => x.toFixed(1)).join(', ')} ms`);

  const cl = await runJson('cluster.cjs', await envFor({ PROM_WORKERS: WORKERS }));
  const workers = summarize(cl.workers);
  printOps(`${WORKERS} cluster workers at once (per worker)`, workers);
  const clusterTotalsOk = printTotals(cl.totals);
  console.log(`(ours' totals in the primary matched ${cl.totalsAfterMs} ms after the last worker finished)`);

  for (const op of ['counter inc(labels)', 'counter inc({ fresh object })']) {
    const rs = [single[op], multi[op], workers[op]];
    targets.push(`${op}, ours/prom-client <= 0.5: single thread ${rs[0].ratio.toFixed(2)}, ${THREADS} threads ${rs[1].ratio.toFixed(2)}, ${WORKERS} workers ${rs[2].ratio.toFixed(2)} -> ${rs.every((r) => r.ratio <= 0.5) ? 'met' : 'missed'}`);
  }
  targets.push(`ours' totals exact across threads: ${threadTotalsOk}, across cluster workers: ${clusterTotalsOk}`);
  Object.assign(raw.summary, { single, reference, threads: multi, workers });
  Object.assign(raw, { totals: { threads: threads.totals, workers: cl.totals }, callsPerRound: { single: threads.n, workers: cl.n }, metricsReadMs: threads.metricsReadMs });
}

if (ONLY !== 'ops') {
  const sc = await scrape();
  console.log(`\nscrape: ${SCRAPE_WORKERS} cluster workers x ${SERIES} series each (the same label sets in every worker), ${SCRAPES} rounds, alternating; median (IQR) ms`);
  console.log('phase                 GET /metrics (ours)    register.metrics() (ours)   clusterMetrics() (prom-client)   ours GET/prom   body bytes (ours / prom)   primary CPU idle');
  for (const [phase, r] of Object.entries(sc)) {
    const f = (x) => `${x.medianMs.toFixed(1)} (${x.iqrMs[0].toFixed(1)}-${x.iqrMs[1].toFixed(1)})`.padEnd(22);
    console.log(
      `${phase.padEnd(21)} ${f(r.get)} ${f(r.ours).padEnd(27)} ${f(r.prom).padEnd(32)} ${(r.get.medianMs / r.prom.medianMs).toFixed(2).padStart(13)}   ${`${r.bytes.get} / ${r.bytes.prom}`.padEnd(26)} ${r.primaryIdleCpuMsPerS.toFixed(0)} ms/s`,
    );
  }
  console.log(`(primary CPU idle: the primary's CPU per second while nothing is asked, workers sending snapshots every 200 ms)`);
  const scrapeMs = sc.counter.get.medianMs;
  targets.push(`scrape of ${SCRAPE_WORKERS} workers x ${SERIES} series < 10 ms: ${scrapeMs.toFixed(1)} ms -> ${scrapeMs < 10 ? 'met' : 'missed'} (prom-client clusterMetrics(): ${sc.counter.prom.medianMs.toFixed(1)} ms)`);
  const strip = (v) => ({ ...v, get: { ...v.get, samples: undefined }, ours: { ...v.ours, samples: undefined }, prom: { ...v.prom, samples: undefined } });
  raw.summary.scrape = Object.fromEntries(Object.entries(sc).map(([k, v]) => [k, strip(v)]));
  raw.scrape = sc;
}

console.log('\ntargets (issue 10)');
for (const t of targets) console.log(t);
raw.load = [loadBefore, loadavg()[0]];
raw.cores = cpus().length;
console.log(`took ${((Date.now() - started) / 1000).toFixed(0)} s; 1-minute load average ${raw.load.map((x) => x.toFixed(1)).join(' -> ')} on ${raw.cores} cores`);
if (json) writeFileSync(json, JSON.stringify(raw, null, 1));
// A profiled or partial run is not kept with the others.
if (cpuProf || ONLY) console.log(`results not saved (${cpuProf ? `a profiled run; profiles in ${cpuProf}` : `--only ${ONLY}`})`);
else console.log(`results: ${saveResults('prometheus', version, raw)}`);
process.exit(0);
