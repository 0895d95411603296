'use strict';
// Child of bench/prometheus.mjs, run under the register hook with OTEL_METRICS_EXPORTER=prometheus
// (so the multiprocess store is active). The main thread times every operation, ours and
// prom-client alternating; then PROM_THREADS worker threads do the same concurrently, a barrier
// before each timed segment; then the main thread reads ours' totals through register.metrics()
// and checks them against the calls every thread made. prom-client has no view across threads:
// its numbers are each thread's own cost only. Prints one JSON line.
const { Worker, isMainThread, parentPort, workerData, threadId } = require('node:worker_threads');
const { LIBS, TOTALS, makeOps, atomicsAdd, timeAll, total } = require('./ops.cjs');

const TARGET_MS = Number(process.env.PROM_TARGET_MS || 60);
const ROUNDS = Number(process.env.PROM_ROUNDS || 7);
const THREADS = Number(process.env.PROM_THREADS || 4);

function barrier(sab, parties) {
  const a = new Int32Array(sab);
  let gen = 0;
  return async () => {
    gen++;
    const target = parties * gen;
    if (Atomics.add(a, 0, 1) + 1 === target) Atomics.notify(a, 0);
    let cur;
    while ((cur = Atomics.load(a, 0)) < target) Atomics.wait(a, 0, cur, 100);
  };
}

async function inWorker() {
  const ops = { ours: makeOps(LIBS.ours()), prom: makeOps(LIBS.prom()) };
  const r = await timeAll(ops, { targetMs: workerData.targetMs, rounds: workerData.rounds, sync: barrier(workerData.sab, workerData.parties) });
  parentPort.postMessage({ thread: threadId, ...r });
}

async function main() {
  const ours = LIBS.ours();
  const ops = { ours: makeOps(ours), prom: makeOps(LIBS.prom()) };
  const single = await timeAll(ops, { targetMs: TARGET_MS, rounds: ROUNDS });
  const reference = await timeAll({ atomics: { 'Atomics.add, shared BigInt64Array': atomicsAdd() } }, { targetMs: TARGET_MS, rounds: ROUNDS });

  const sab = new SharedArrayBuffer(4);
  const workers = [];
  for (let i = 0; i < THREADS; i++) {
    const w = new Worker(__filename, { workerData: { targetMs: TARGET_MS, rounds: ROUNDS, sab, parties: THREADS } });
    workers.push(
      new Promise((resolve, reject) => {
        let msg;
        w.once('message', (m) => (msg = m));
        w.once('error', reject);
        w.once('exit', (code) => (code === 0 && msg ? resolve(msg) : reject(new Error(`worker exit ${code}`))));
      }),
    );
  }
  const threads = await Promise.all(workers);

  // Ours' view from the main thread: its own shard and every (ended) worker's.
  const reads = [];
  let text = '';
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    text = await ours.register.metrics();
    reads.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const totals = {};
  for (const [op, name] of Object.entries(TOTALS)) {
    const expected = single.calls[op] + threads.reduce((a, t) => a + t.calls[op], 0);
    totals[op] = { metric: name, expected, seen: total(text, name).sum };
  }
  console.log(JSON.stringify({ n: single.n, single: single.samples, reference: reference.samples, threads: threads.map((t) => t.samples), totals, metricsReadMs: reads }));
}

(isMainThread ? main() : inWorker()).catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
