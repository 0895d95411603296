'use strict';
// The operations bench/prometheus.mjs times, built the same way on ours
// (otel-autoinstrument/prometheus) and on prom-client, and the alternating round loop that times
// them. Each operation is its own loop (`run(n)`), so every call site stays monomorphic.
const { threadCpuUsage } = process;

const LABEL_NAMES = ['method', 'route', 'status'];
/** A handful of label sets, rotated per call, as a request handler would see them. */
const ARGS = [
  ['GET', '/api/users', '200'],
  ['POST', '/api/users', '201'],
  ['GET', '/api/orders', '200'],
  ['GET', '/api/users', '404'],
  ['DELETE', '/api/orders', '500'],
];
const STATUS = ARGS.map((a) => Number(a[2]));
const SETS = ARGS.map(([method, route, status]) => ({ method, route, status }));
/** Values spread over the default buckets (5 ms to 10 s) and their ends. */
const VALUES = Array.from({ length: 64 }, (_, i) => 0.001 * 1.13 ** i);

const LIBS = {
  ours: () => require('otel-autoinstrument/prometheus'),
  prom: () => require('prom-client'),
};

/** Every operation on one library; also what ours' totals must come to (counted calls). */
function makeOps(lib) {
  const help = 'bench';
  const labelNames = LABEL_NAMES;
  const cObj = new lib.Counter({ name: 'bench_inc_object_total', help, labelNames });
  const cFresh = new lib.Counter({ name: 'bench_inc_fresh_total', help, labelNames });
  const cLabels = new lib.Counter({ name: 'bench_inc_labels_total', help, labelNames });
  const cChild = new lib.Counter({ name: 'bench_inc_child_total', help, labelNames });
  const kids = ARGS.map((a) => cChild.labels(...a));
  const h = new lib.Histogram({ name: 'bench_observe_seconds', help, labelNames });
  const s0 = new lib.Summary({ name: 'bench_summary_nolabels_seconds', help });
  const s3 = new lib.Summary({ name: 'bench_summary_seconds', help, labelNames });
  const g = new lib.Gauge({ name: 'bench_gauge', help, labelNames });
  return {
    'counter inc(labels)': (n) => {
      for (let i = 0; i < n; i++) cObj.inc(SETS[i % 5]);
    },
    // As a request handler writes it: a new object per call, the status a number.
    'counter inc({ fresh object })': (n) => {
      for (let i = 0; i < n; i++) {
        const a = ARGS[i % 5];
        cFresh.inc({ method: a[0], route: a[1], status: STATUS[i % 5] });
      }
    },
    'counter labels(a,b,c).inc()': (n) => {
      for (let i = 0; i < n; i++) {
        const a = ARGS[i % 5];
        cLabels.labels(a[0], a[1], a[2]).inc();
      }
    },
    'counter child.inc()': (n) => {
      for (let i = 0; i < n; i++) kids[i % 5].inc();
    },
    'histogram observe(labels)': (n) => {
      for (let i = 0; i < n; i++) h.observe(SETS[i % 5], VALUES[i & 63]);
    },
    'summary observe()': (n) => {
      for (let i = 0; i < n; i++) s0.observe(VALUES[i & 63]);
    },
    'summary observe(labels)': (n) => {
      for (let i = 0; i < n; i++) s3.observe(SETS[i % 5], VALUES[i & 63]);
    },
    'gauge set(labels)': (n) => {
      for (let i = 0; i < n; i++) g.set(SETS[i % 5], i);
    },
  };
}

/** Where each operation's calls land in ours, to check the totals a scrape shows. */
const TOTALS = {
  'counter inc(labels)': 'bench_inc_object_total',
  'counter inc({ fresh object })': 'bench_inc_fresh_total',
  'counter labels(a,b,c).inc()': 'bench_inc_labels_total',
  'counter child.inc()': 'bench_inc_child_total',
  'histogram observe(labels)': 'bench_observe_seconds_count',
  'summary observe()': 'bench_summary_nolabels_seconds_count',
  'summary observe(labels)': 'bench_summary_seconds_count',
};

/** The floor under any shared-memory store: one 64-bit Atomics.add on a SharedArrayBuffer. */
function atomicsAdd() {
  const cells = new BigInt64Array(new SharedArrayBuffer(8 * 1024));
  return (n) => {
    for (let i = 0; i < n; i++) Atomics.add(cells, i & 7, 1n);
  };
}

function timeOnce(run, n) {
  const c0 = threadCpuUsage();
  const t0 = process.hrtime.bigint();
  run(n);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  const c = threadCpuUsage(c0);
  return { ns, cpuNs: ((c.user + c.system) * 1000) / n };
}

const CHUNK = 1000;
const CALIBRATE_MS = 25;

/** Calls in chunks until CALIBRATE_MS have passed: ns per call, a one-off pause spread thin. */
function calibrate(run) {
  let calls = 0;
  const t0 = process.hrtime.bigint();
  let ns = 0;
  while (ns < CALIBRATE_MS * 1e6) {
    run(CHUNK);
    calls += CHUNK;
    ns = Number(process.hrtime.bigint() - t0);
  }
  return { calls, nsPerCall: ns / calls };
}

/**
 * Times every operation of every library. Per operation: a calibration (about CALIBRATE_MS each,
 * which also warms the JIT) and two warm-up rounds pick n, the calls per round, so that the slower
 * library's round lasts about targetMs (the thread CPU clock ticks coarsely here: short rounds
 * would read as 0 or a whole tick); then `rounds` rounds in which the libraries alternate,
 * swapping order every round. `sync()` runs before each segment, the same number of times
 * whatever n is (a barrier across threads or processes, so they run the same library at the same
 * time). Returns { samples: { [op]: { [lib]: [{ ns, cpuNs }] } }, calls: { [op]: calls per
 * library }, n: { [op]: calls per round } }.
 */
async function timeAll(opsByLib, { targetMs, rounds, sync = async () => {} }) {
  const libs = Object.keys(opsByLib);
  const names = Object.keys(opsByLib[libs[0]]);
  const samples = {};
  const calls = {};
  const ns = {};
  for (const op of names) {
    samples[op] = Object.fromEntries(libs.map((l) => [l, []]));
    let slowest = 0;
    const made = {};
    for (const l of libs) {
      await sync();
      const c = calibrate(opsByLib[l][op]);
      made[l] = c.calls;
      slowest = Math.max(slowest, c.nsPerCall);
    }
    const size = (nsPerCall) => Math.max(CHUNK, Math.min(5_000_000, Math.round((targetMs * 1e6) / nsPerCall)));
    let n = size(slowest);
    // Two warm-up rounds each (always two: the barrier needs the same count everywhere), each
    // re-sizing n from a longer sample than the calibration's.
    for (let w = 0; w < 2; w++) {
      slowest = 0;
      for (const l of libs) {
        await sync();
        slowest = Math.max(slowest, timeOnce(opsByLib[l][op], n).ns);
        made[l] += n;
      }
      n = size(slowest);
    }
    ns[op] = n;
    for (let r = 0; r < rounds; r++) {
      for (const l of r % 2 === 0 ? libs : [...libs].reverse()) {
        await sync();
        samples[op][l].push(timeOnce(opsByLib[l][op], n));
      }
    }
    // What ours' store must show: every call made, calibration included.
    calls[op] = (made.ours ?? 0) + rounds * n;
  }
  return { samples, calls, n: ns };
}

/** Sums the samples of one metric name in exposition text (every label set). */
function total(text, name) {
  let sum = 0;
  let seen = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    seen++;
  }
  return { sum, seen };
}

module.exports = { LIBS, ARGS, SETS, LABEL_NAMES, VALUES, TOTALS, makeOps, atomicsAdd, timeAll, total };
