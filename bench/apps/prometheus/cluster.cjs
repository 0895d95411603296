'use strict';
// Child of bench/prometheus.mjs, run under the register hook with OTEL_METRICS_EXPORTER=prometheus:
// a cluster primary and PROM_WORKERS workers. Each worker times every operation, ours and
// prom-client alternating, with a barrier (over IPC, through the primary) before each timed
// segment, so the workers run the same library at the same time. The primary then waits until
// ours' totals, read through register.metrics(), match the calls every worker made (the workers
// send their snapshots every OTEL_NODE_MULTIPROCESS_INTERVAL ms). Prints one JSON line.
const cluster = require('node:cluster');
const { LIBS, TOTALS, makeOps, timeAll, total } = require('./ops.cjs');

const TARGET_MS = Number(process.env.PROM_TARGET_MS || 60);
const ROUNDS = Number(process.env.PROM_ROUNDS || 7);
const WORKERS = Number(process.env.PROM_WORKERS || 4);

async function inWorker() {
  let go;
  process.on('message', (m) => m?.t === 'go' && go());
  const sync = () =>
    new Promise((resolve) => {
      go = resolve;
      process.send({ t: 'sync' });
    });
  const ops = { ours: makeOps(LIBS.ours()), prom: makeOps(LIBS.prom()) };
  const r = await timeAll(ops, { targetMs: TARGET_MS, rounds: ROUNDS, sync });
  process.send({ t: 'done', pid: process.pid, ...r });
}

async function primary() {
  const ours = LIBS.ours();
  const results = [];
  let waiting = 0;
  const workers = [];
  const done = new Promise((resolve) => {
    for (let i = 0; i < WORKERS; i++) {
      const w = cluster.fork();
      workers.push(w);
      w.on('message', (m) => {
        if (m?.t === 'sync' && ++waiting === WORKERS) {
          waiting = 0;
          for (const x of workers) x.send({ t: 'go' });
        } else if (m?.t === 'done') {
          results.push(m);
          if (results.length === WORKERS) resolve();
        }
      });
    }
  });
  await done;
  const t0 = Date.now();
  let totals;
  for (;;) {
    const text = await ours.register.metrics();
    totals = {};
    for (const [op, name] of Object.entries(TOTALS)) totals[op] = { metric: name, expected: results.reduce((a, r) => a + r.calls[op], 0), seen: total(text, name).sum };
    if (Object.values(totals).every((t) => t.seen === t.expected) || Date.now() - t0 > 10_000) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const waitedMs = Date.now() - t0;
  for (const w of workers) w.disconnect();
  console.log(JSON.stringify({ workers: results.map((r) => r.samples), n: results[0].n, totals, totalsAfterMs: waitedMs }));
}

(cluster.isPrimary ? primary() : inWorker()).catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
