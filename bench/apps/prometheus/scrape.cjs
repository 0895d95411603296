'use strict';
// Child of bench/prometheus.mjs (forked, with IPC), run under the register hook with
// OTEL_METRICS_EXPORTER=prometheus: a cluster primary and PROM_WORKERS workers. Every worker has
// the same metrics in ours and in prom-client: a counter with SERIES label sets (one inc each),
// and, after the 'histograms' phase, a histogram with SERIES label sets (one observe each). The
// bench's process times GETs of our endpoint itself; it asks this primary, over IPC, to time
// ours' register.metrics() and prom-client's AggregatorRegistry.clusterMetrics() (which asks every
// worker for its metrics over IPC at each call), and the primary's CPU while nothing is asked.
const cluster = require('node:cluster');
const { LIBS, LABEL_NAMES, VALUES, total } = require('./ops.cjs');

const WORKERS = Number(process.env.PROM_WORKERS || 8);
const SERIES = Number(process.env.PROM_SERIES || 1000);

/** SERIES distinct label sets: 5 methods x 20 routes x 10 statuses for 1,000. */
function labelSets() {
  const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  const out = [];
  for (let i = 0; out.length < SERIES; i++) out.push({ method: methods[i % 5], route: `/api/v1/resource${Math.floor(i / 5) % 20}`, status: String(200 + Math.floor(i / 100)) });
  return out;
}

function inWorker() {
  const sets = labelSets();
  const prom = LIBS.prom();
  // prom-client's workers answer the primary's requests once an AggregatorRegistry exists.
  new prom.AggregatorRegistry();
  const libs = [LIBS.ours(), prom];
  for (const lib of libs) {
    const c = new lib.Counter({ name: 'bench_scrape_total', help: 'bench', labelNames: LABEL_NAMES });
    for (const s of sets) c.inc(s);
  }
  process.send({ t: 'ready' });
  process.on('message', (m) => {
    if (m?.t !== 'histograms') return;
    for (const lib of libs) {
      const h = new lib.Histogram({ name: 'bench_scrape_seconds', help: 'bench', labelNames: LABEL_NAMES });
      sets.forEach((s, i) => h.observe(s, VALUES[i & 63]));
    }
    process.send({ t: 'ready' });
  });
}

function primary() {
  const ours = LIBS.ours();
  const prom = LIBS.prom();
  const agg = new prom.AggregatorRegistry();
  const workers = [];
  let ready = 0;
  let onReady;
  for (let i = 0; i < WORKERS; i++) {
    const w = cluster.fork();
    workers.push(w);
    w.on('message', (m) => m?.t === 'ready' && ++ready === WORKERS && onReady());
  }
  const allReady = () =>
    new Promise((resolve) => {
      if (ready === WORKERS) resolve();
      else onReady = resolve;
    });
  const timed = async (fn) => {
    const t0 = process.hrtime.bigint();
    const text = await fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { ms, bytes: Buffer.byteLength(text), counter: total(text, 'bench_scrape_total'), histogram: total(text, 'bench_scrape_seconds_count') };
  };
  const handlers = {
    ready: async () => {
      await allReady();
      return {};
    },
    histograms: async () => {
      ready = 0;
      for (const w of workers) w.send({ t: 'histograms' });
      await allReady();
      return {};
    },
    ours: () => timed(() => ours.register.metrics()),
    prom: () => timed(() => agg.clusterMetrics()),
    idle: async ({ ms }) => {
      const c0 = process.cpuUsage();
      await new Promise((r) => setTimeout(r, ms));
      const c = process.cpuUsage(c0);
      return { cpuMs: (c.user + c.system) / 1000 };
    },
    stop: async () => {
      for (const w of workers) w.disconnect();
      setTimeout(() => process.disconnect(), 100);
      return {};
    },
  };
  process.on('message', (m) => {
    handlers[m.cmd](m).then(
      (r) => process.send({ id: m.id, ...r }),
      (err) => process.send({ id: m.id, error: String(err?.stack ?? err) }),
    );
  });
}

if (cluster.isPrimary) primary();
else inWorker();
