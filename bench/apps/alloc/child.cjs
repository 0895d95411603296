'use strict';
// Child of bench/alloc.mjs: heap bytes allocated per request, in process (bench/apps/http-instr/
// drive.cjs serves each request without the network). Run with --expose-gc and a young generation
// large enough that a round triggers no collection: a round starts after a full gc(), and what
// the heap grew by over the round is what it allocated (a round during which V8 collected anyway
// is discarded and retried smaller). The event loop turns every 200 requests, so timers and
// exports run as they would. ALLOC_PROFILE=1: the sampling heap profiler over the rounds instead,
// keeping the objects collected since (V8's includeObjectsCollectedBy*GC), printed as the top
// allocation sites in bytes per request. Prints one JSON line.
const v8 = require('node:v8');
const { PerformanceObserver } = require('node:perf_hooks');
const { driver } = require('../http-instr/drive.cjs');

const N = Number(process.env.ALLOC_N || 2000);
const ROUNDS = Number(process.env.ALLOC_ROUNDS || 7);
const one = driver(process.env.ALLOC_APP === 'express' ? 'express' : 'http');
const tick = () => new Promise((r) => setImmediate(r));
/** gc performance entries arrive a turn or two of the loop after the collection. */
const settle = () => new Promise((r) => setTimeout(r, 5));
let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({ entryTypes: ['gc'] });

const used = () => v8.getHeapSpaceStatistics().reduce((s, x) => s + x.space_used_size, 0);
async function serve(n) {
  for (let i = 0; i < n; i++) {
    one();
    if (i % 200 === 199) await tick();
  }
  await tick();
}

/** Bytes per request of one round, or undefined when V8 collected during it. */
async function round(n) {
  global.gc();
  await settle(); // the gc entries of that gc() arrive by now
  const g = gcs;
  const h0 = used();
  await serve(n);
  const h1 = used();
  await settle();
  return gcs === g ? (h1 - h0) / n : undefined;
}

async function measure() {
  const rs = [];
  let n = N;
  for (let tries = 0; rs.length < ROUNDS && tries < ROUNDS * 3; tries++) {
    const r = await round(n);
    if (r === undefined) n = Math.max(100, Math.floor(n / 2));
    else rs.push(r);
  }
  rs.sort((a, b) => a - b);
  return { bytesPerReq: rs[Math.floor(rs.length / 2)], min: rs[0], max: rs[rs.length - 1], n, rounds: rs.length };
}

async function profile() {
  const inspector = require('node:inspector');
  const s = new inspector.Session();
  s.connect();
  const post = (m, p) => new Promise((res, rej) => s.post(m, p, (e, r) => (e ? rej(e) : res(r))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 128, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const total = N * ROUNDS;
  await serve(total);
  const { profile: p } = await post('HeapProfiler.stopSampling');
  const sites = new Map();
  const walk = (node, stack) => {
    const f = node.callFrame;
    const here = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|bench)\//, '$1/')}:${f.lineNumber + 1}`;
    if (node.selfSize > 0) {
      // the site, and its caller (one frame up) to tell the paths apart
      const key = `${here}  <- ${stack[stack.length - 1] ?? ''}`;
      sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
    }
    for (const c of node.children) walk(c, [...stack, here]);
  };
  walk(p.head, []);
  const top = [...sites].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.ALLOC_TOP || 40));
  const sum = [...sites.values()].reduce((a, b) => a + b, 0);
  return { sampledBytesPerReq: sum / total, top: top.map(([k, v]) => [Math.round(v / total), k]) };
}

(async () => {
  await serve(4000); // warm-up: compiled code, pools, the first export
  const r = process.env.ALLOC_PROFILE ? await profile() : await measure();
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
})();
