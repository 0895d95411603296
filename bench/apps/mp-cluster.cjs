'use strict';
// Child of bench/multiprocess.mjs, run under `--require otel-autoinstrument/register` with
// OTEL_METRICS_EXPORTER=prometheus: MP_WORKERS cluster workers each record MP_SERIES counter
// series, the same attribute sets in every worker (one app, forked), 1 each; the primary serves
// them merged on its /metrics. With MP_WORKERS=0 the primary records the same series itself,
// MP_PER each (the baseline: the same output, nothing to merge). Prints "ready" once every worker
// has recorded, then idles until its process group is killed.
const cluster = require('node:cluster');
const api = require('@opentelemetry/api');

const W = Number(process.env.MP_WORKERS ?? 8);
const S = Number(process.env.MP_SERIES ?? 1000);

function record(k) {
  const c = api.metrics.getMeter('bench').createCounter('bench.series');
  for (let i = 0; i < S; i++) c.add(k, { 'http.route': `/r/${i % 50}`, 'http.response.status_code': 200 + (i % 5), series: `s${i}` });
}

const idle = () => setInterval(() => {}, 1 << 30);
if (cluster.isPrimary) {
  if (W === 0) {
    record(Number(process.env.MP_PER ?? 8));
    console.log('ready');
  } else {
    let made = 0;
    for (let w = 0; w < W; w++) cluster.fork().on('message', (m) => m === 'made' && ++made === W && console.log('ready'));
  }
  idle();
} else {
  record(1);
  process.send('made');
  idle();
}
