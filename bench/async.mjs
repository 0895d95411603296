#!/usr/bin/env node
// Async tracing overhead per call: `node bench/async.mjs [--node PATH] [--calls N] [--rounds N]`.
//
// One child process per configuration, under --require otel-autoinstrument/register, calls two
// identical functions of each kind (sync and async) from bench/apps/async/work.cjs, of which
// OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE lists one. The plain function is the baseline, measured in
// the same process and the same rounds. Configurations:
//   sampled      every call a recorded span (exported over OTLP to a closed loopback port: the
//                batch processor queues and drops, as under a slow backend) plus two observations;
//   sampled-out  OTEL_TRACES_SAMPLER=always_off: a non-recording span plus the observations;
//   no-export    traces and metrics exporters "none": what the wrapper and context switch cost.
// Prints ns per call and the ratio to the plain call. Exits 0 whatever the numbers. See
// docs/performance.md and docs/async-tracing.md.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i === -1 ? dflt : args[i + 1];
};
const node = opt('--node', process.env.BENCH_NODE || join(root, 'node_modules/node/bin/node'));
const calls = opt('--calls', '20000');
const rounds = opt('--rounds', '9');

const CONFIGS = {
  sampled: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' },
  'sampled-out': { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_TRACES_SAMPLER: 'always_off' },
  'no-export': { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' },
};

const base = {};
for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTEL_') && k !== 'NODE_OPTIONS') base[k] = v;
const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(`async tracing overhead, node ${version}, ${calls} calls x ${rounds} rounds, medians`);
console.log('config        kind   plain ns  traced ns  overhead ns  ratio');
for (const [name, env] of Object.entries(CONFIGS)) {
  const res = spawnSync(node, ['--require', join(root, 'register/index.cjs'), join(here, 'apps/async/loop.cjs')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: {
      ...base,
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_LOG_LEVEL: 'error',
      OTEL_NODE_RESOURCE_DETECTORS: 'env',
      OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE: './bench/apps/async/work.cjs:tracedSync,./bench/apps/async/work.cjs:tracedAsync',
      BENCH_CALLS: calls,
      BENCH_ROUNDS: rounds,
      ...env,
    },
  });
  const line = res.stdout.trim().split('\n').pop();
  let r;
  try {
    r = JSON.parse(line);
  } catch {
    console.log(`${name}: no result (exit ${res.status}) ${res.stderr.slice(0, 300)}`);
    continue;
  }
  for (const kind of ['Sync', 'Async']) {
    const plain = r[`plain${kind}`];
    const traced = r[`traced${kind}`];
    console.log(`${name.padEnd(13)} ${kind.toLowerCase().padEnd(6)} ${plain.toFixed(0).padStart(8)} ${traced.toFixed(0).padStart(10)} ${(traced - plain).toFixed(0).padStart(12)} ${(traced / plain).toFixed(1).padStart(6)}x`);
  }
}
