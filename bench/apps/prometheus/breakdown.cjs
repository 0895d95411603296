'use strict';
// Where the drop-in's time goes (docs/performance.md, "Prometheus drop-in"):
// `node bench/apps/prometheus/breakdown.cjs` after a build, no register hook needed.
//   inc    ours' labelled counter inc taken apart: the store write, the unknown-label check, the
//          series lookup (ShardSeries.cellByLabels, a trie by label value), against
//          prom-client's inc and against the string-keyed lookup the drop-in used before;
//   scrape the primary's work per scrape, alone: folding 8 contributors x 1,000 counter series
//          as the workers send them (Aggregate.foldInto) and rendering them, with what the
//          points' keys cost when computed at every scrape (attrKey), as before.
const { LIBS, SETS, LABEL_NAMES } = require('./ops.cjs');
const { ShardWriter } = require('../../../dist/multiprocess/shard.js');
const { Aggregate } = require('../../../dist/multiprocess/aggregate.js');
const { attrKey, fold, toSnapshotOf } = require('../../../dist/multiprocess/fold.js');
const { renderAll } = require('../../../dist/prometheus/values.js');

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
let sink = 0;

/** The key the drop-in built from label values before the trie, then looked up in a Map. */
function keyOf(labels) {
  let key = '';
  for (let i = 0; i < LABEL_NAMES.length; i++) {
    const v = labels[LABEL_NAMES[i]];
    key += v === undefined ? '\u0002\u0001' : `${v}\u0001`;
  }
  return key;
}
/** Metric.at()'s check: no label outside labelNames. */
function check(labels) {
  let n = 0;
  for (const k in labels) if (labels[k] !== undefined) n++;
  for (let i = 0; i < LABEL_NAMES.length; i++) if (labels[LABEL_NAMES[i]] !== undefined) n--;
  return n;
}

function incSteps() {
  const w = new ShardWriter();
  const cells = new BigInt64Array(new SharedArrayBuffer(64));
  const byKey = new Map(SETS.map((s, i) => [keyOf(s), i]));
  const ours = new (LIBS.ours().Counter)({ name: 'breakdown_total', help: 'h', labelNames: LABEL_NAMES });
  const prom = new (LIBS.prom().Counter)({ name: 'breakdown_total', help: 'h', labelNames: LABEL_NAMES });
  // The metric's own series (a protected field in TypeScript): the lookup inc() makes.
  const series = ours.series;
  for (const s of SETS) ours.inc(s);
  const none = () => ({});
  const steps = {
    'Atomics.add(BigInt64Array, 1n)': (n) => {
      for (let i = 0; i < n; i++) Atomics.add(cells, i & 7, 1n);
    },
    'ShardWriter.add (the store write)': (n) => {
      for (let i = 0; i < n; i++) w.add(i % 5, 1);
    },
    'unknown-label check (for-in)': (n) => {
      for (let i = 0; i < n; i++) sink += check(SETS[i % 5]);
    },
    'series lookup (cellByLabels, trie)': (n) => {
      for (let i = 0; i < n; i++) sink += series.cellByLabels(LABEL_NAMES, SETS[i % 5], none);
    },
    'ours counter.inc(labels)': (n) => {
      for (let i = 0; i < n; i++) ours.inc(SETS[i % 5]);
    },
    'prom-client counter.inc(labels)': (n) => {
      for (let i = 0; i < n; i++) prom.inc(SETS[i % 5]);
    },
    'before: key string + Map.get': (n) => {
      for (let i = 0; i < n; i++) sink += byKey.get(keyOf(SETS[i % 5]));
    },
  };
  const N = 300_000;
  const res = Object.fromEntries(Object.keys(steps).map((k) => [k, []]));
  for (const f of Object.values(steps)) f(N);
  for (let r = 0; r < 9; r++)
    for (const [k, f] of Object.entries(steps)) {
      const t = process.hrtime.bigint();
      f(N);
      res[k].push(Number(process.hrtime.bigint() - t) / N);
    }
  console.log('labelled counter inc, step by step (ns per call, median of 9 rounds)');
  for (const [k, v] of Object.entries(res)) console.log(`  ${k.padEnd(38)} ${median(v).toFixed(0).padStart(5)}`);
}

function scrapeSteps() {
  const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  const sets = Array.from({ length: 1000 }, (_, i) => ({ method: methods[i % 5], route: `/api/v1/resource${Math.floor(i / 5) % 20}`, status: String(200 + Math.floor(i / 100)) }));
  const agg = new Aggregate({ policy: () => 'pid' });
  const metric = { name: 'bench_scrape_total', description: 'bench', unit: '', kind: 'counter', int: false, points: sets.map((a) => ({ attrs: a, start: 1, time: 2, value: 1 })) };
  for (let w = 0; w < 8; w++) {
    // As a worker sends it (toSnapshotOf: each point with its key), and as it arrives over IPC:
    // JSON, so every worker's attribute objects are its own.
    const folded = new Map();
    fold(folded, { source: 'w', pid: 1000 + w, scopes: [{ name: 'otel-autoinstrument/prometheus', metrics: [metric] }] }, { policy: () => 'pid' });
    agg.update(JSON.parse(JSON.stringify(toSnapshotOf(folded, { source: String(1000 + w), pid: 1000 + w }))));
  }
  const time = (f) => {
    const xs = [];
    for (let i = 0; i < 41; i++) {
      const t = process.hrtime.bigint();
      f();
      xs.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return median(xs).toFixed(2);
  };
  let folded = new Map();
  console.log('\none scrape in the primary, 8 workers x 1,000 counter series (ms, median of 41)');
  const copies = Array.from({ length: 8 }, () => JSON.parse(JSON.stringify(sets)));
  console.log(`  Aggregate.foldInto (what others() does)  ${time(() => agg.foldInto((folded = new Map())))}`);
  console.log(`  renderAll (1,000 merged series)          ${time(() => (sink += renderAll(folded).length))}`);
  console.log(`  before: attrKey() of 8,000 points        ${time(() => copies.forEach((c) => c.forEach((a) => (sink += attrKey(a).length))))}`);
}

incSteps();
scrapeSteps();
if (sink === 0.5) console.log(sink);
