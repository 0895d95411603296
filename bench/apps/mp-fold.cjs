'use strict';
// Child of bench/multiprocess.mjs: one Prometheus collection of the topmost process, in-process,
// through the real Multiprocess class (dist/multiprocess/index.js): its wrap() of the reader's
// collect (others' fold, delta-free merge with the process's own collection) and then the
// exporter's PrometheusSerializer. MP_WORKERS contributors (as cluster workers' snapshots arrive:
// JSON through IPC) of MP_SERIES series each, the same attribute sets in every contributor (one
// app, forked), so the output has MP_SERIES series. Baseline: the same MP_SERIES series recorded
// in the process's own SDK, no contributors. Alternating rounds; prints one JSON line of medians.
const { parseConfig } = require('../../dist/config/parse.js');
const { Multiprocess } = require('../../dist/multiprocess/index.js');
const { MeterProvider } = require('@opentelemetry/sdk-metrics');
const { PrometheusExporter, PrometheusSerializer } = require('@opentelemetry/exporter-prometheus');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const W = Number(process.env.MP_WORKERS || 8);
const S = Number(process.env.MP_SERIES || 1000);
const ROUNDS = Number(process.env.MP_ROUNDS || 15);
const BOUNDS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
const attrs = (i) => ({ 'http.route': `/r/${i % 50}`, 'http.response.status_code': 200 + (i % 5), series: `s${i}` });
const resource = resourceFromAttributes({ 'service.name': 'bench' });
const log = { level: 'warn', enabled: () => false, error() {}, warn: (m) => process.stderr.write(`${m}\n`), info() {}, debug() {} };

/** A cluster worker's cumulative snapshot, as its SnapshotSender sends it. */
function snapshot(w, kind) {
  const now = Date.now();
  const points = Array.from({ length: S }, (_, i) => ({
    attrs: attrs(i),
    start: now - 60_000,
    time: now,
    value: kind === 'counter' ? i + 1 : { bounds: BOUNDS, counts: BOUNDS.map(() => 1).concat(1), sum: 100 + i, min: 0, max: 20000 },
  }));
  return { source: String(100000 + w), pid: 100000 + w, scopes: [{ name: 'bench', metrics: [{ name: `bench.${kind}`, description: '', unit: '', kind, int: false, points }] }] };
}

function ours(kind) {
  const mp = new Multiprocess(parseConfig({ OTEL_METRICS_EXPORTER: 'prometheus' }).values, log);
  const exporter = new PrometheusExporter({ preventServerStart: true });
  new MeterProvider({ readers: [mp.wrap(exporter, 'all')], resource }).getMeter('bench').createCounter('bench.own').add(1);
  for (let w = 0; w < W; w++) mp.children.update(JSON.parse(JSON.stringify(snapshot(w, kind))));
  // What our /metrics handler appends after the serializer (src/sdk/prometheus.ts): the
  // Prometheus drop-in's text, made from its own view of every contributor.
  return { exporter, extra: () => mp.dropInText(), close: () => mp.close() };
}

function baseline(kind) {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meter = new MeterProvider({ readers: [exporter], resource }).getMeter('bench');
  meter.createCounter('bench.own').add(1);
  if (kind === 'counter') {
    const c = meter.createCounter('bench.counter');
    for (let i = 0; i < S; i++) c.add(W * (i + 1), attrs(i));
  } else {
    const h = meter.createHistogram('bench.histogram');
    for (let i = 0; i < S; i++) for (const v of [0, ...BOUNDS.map((b) => b + 0.5)]) h.record(v, attrs(i));
  }
  return { exporter, close: () => {} };
}

const serializer = new PrometheusSerializer();
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

async function once(setup) {
  const t0 = process.hrtime.bigint();
  const { resourceMetrics, errors } = await setup.exporter.collect();
  const collect = ms(t0);
  const t1 = process.hrtime.bigint();
  const text = serializer.serialize(resourceMetrics);
  const serialize = ms(t1);
  const t2 = process.hrtime.bigint();
  const extra = setup.extra?.() ?? '';
  return { collect, serialize, dropIn: ms(t2), total: ms(t0), bytes: text.length + extra.length, errors: errors.length, text };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  const out = { workers: W, series: S, rounds: ROUNDS, kinds: {} };
  for (const kind of ['counter', 'histogram']) {
    const setups = { ours: ours(kind), baseline: baseline(kind) };
    const samples = { ours: [], baseline: [] };
    let check;
    for (let r = 0; r <= ROUNDS; r++) {
      for (const name of r % 2 ? ['baseline', 'ours'] : ['ours', 'baseline']) {
        const s = await once(setups[name]);
        if (name === 'ours' && check === undefined) {
          // Every series merged: S lines, each W times its contributor's value.
          const lines = s.text.split('\n').filter((l) => l.startsWith(kind === 'counter' ? 'bench_counter_total{' : 'bench_histogram_count{'));
          const sum = lines.reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
          check = { series: lines.length, sum, expected: kind === 'counter' ? (W * S * (S + 1)) / 2 : W * S * (BOUNDS.length + 1) };
        }
        delete s.text;
        if (r > 0) samples[name].push(s); // round 0 warms up
      }
    }
    for (const s of Object.values(setups)) s.close();
    out.kinds[kind] = { check };
    for (const name of ['ours', 'baseline']) out.kinds[kind][name] = Object.fromEntries(['collect', 'serialize', 'dropIn', 'total', 'bytes', 'errors'].map((k) => [k, median(samples[name].map((s) => s[k]))]));
  }
  // The merge's first step alone, and the attribute keys it computes: where collect's time goes.
  const { Aggregate } = require('../../dist/multiprocess/aggregate.js');
  const { attrKey } = require('../../dist/multiprocess/fold.js');
  const agg = new Aggregate({ policy: () => 'pid' });
  const snaps = Array.from({ length: W }, (_, w) => JSON.parse(JSON.stringify(snapshot(w, 'counter'))));
  for (const sn of snaps) agg.update(sn);
  const steps = { foldInto: [], attrKeys: [] };
  for (let r = 0; r <= ROUNDS; r++) {
    let t0 = process.hrtime.bigint();
    agg.foldInto(new Map());
    const a = ms(t0);
    t0 = process.hrtime.bigint();
    for (const sn of snaps) for (const p of sn.scopes[0].metrics[0].points) attrKey(p.attrs);
    if (r > 0) (steps.foldInto.push(a), steps.attrKeys.push(ms(t0)));
  }
  out.counterSteps = { foldInto: median(steps.foldInto), attrKeys: median(steps.attrKeys) };
  console.log(JSON.stringify(out));
})();
