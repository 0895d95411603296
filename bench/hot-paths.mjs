#!/usr/bin/env node
// Hot paths: `npm run bench:hot [-- --node PATH --n N --rounds R]`.
//
// What one operation costs through our lazy facades (over our lean tracer, and over upstream's SDK
// with OTEL_NODE_TRACER=sdk) against the SDK used directly and against the API's no-ops, each in
// its own child (bench/apps/hot-child.cjs), alternating over 3 repeats:
//   span start+end       tracer.startSpan().end(), 2 attributes, exported (batch processor, OTLP
//                        http/protobuf to a local sink);
//   unsampled span       the same, child of a remote parent that was not sampled (not recorded);
//   counter add          counter.add(1, 2 attributes) on the main thread;
//   counter add, worker  the same in a worker thread (ours starts no SDK in workers).
// The async-function wrapper has its own bench: bench/async.mjs. Exits 0 whatever the numbers.
import { spawn } from 'node:child_process';
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { saveResults } from './results.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const NODES = { 22: 'node_modules/node22/bin/node', 24: 'node_modules/node/bin/node' };
const nodeArg = opt('--node', process.env.BENCH_NODE ?? '24');
const node = NODES[nodeArg] ? join(root, NODES[nodeArg]) : nodeArg;
const N = opt('--n', '20000');
const ROUNDS = opt('--rounds', '7');
const REPEATS = Number(opt('--repeats', '3'));
const json = opt('--json');

const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS'));
const sink = fork(join(here, 'apps', 'otlp-sink.cjs'), [], { env: clean, stdio: 'ignore' });
const { port } = await new Promise((r) => sink.once('message', r));
const env = {
  ...clean,
  OTEL_SERVICE_NAME: 'bench',
  OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
  OTEL_METRICS_EXPORTER: 'otlp',
  OTEL_LOGS_EXPORTER: 'none',
  OTEL_NODE_RUNTIME_METRICS: 'none',
  OTEL_NODE_RESOURCE_DETECTORS: 'env',
  // The default: a root span is sampled, the child of an unsampled parent is not.
  OTEL_TRACES_SAMPLER: 'parentbased_always_on',
  HOT_N: N,
  HOT_ROUNDS: ROUNDS,
};
const MODES = {
  noop: [],
  sdk: [],
  ours: ['--require', join(root, 'register', 'index.cjs')],
  'ours-sdk': ['--require', join(root, 'register', 'index.cjs')],
};
const MODE_ENV = { 'ours-sdk': { OTEL_NODE_TRACER: 'sdk' } };

function run(mode) {
  return new Promise((resolve) => {
    const c = spawn(node, [...MODES[mode], join(here, 'apps', 'hot-child.cjs')], { cwd: root, env: { ...env, ...MODE_ENV[mode], HOT_MODE: mode }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => c.kill('SIGKILL'), 120_000);
    c.on('close', (code) => {
      clearTimeout(t);
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)));
      } catch {
        resolve({ error: `exit ${code}: ${err.slice(0, 300)}` });
      }
    });
  });
}

const version = await new Promise((r) => {
  const c = spawn(node, ['--version']);
  let o = '';
  c.stdout.on('data', (d) => (o += d));
  c.on('close', () => r(o.trim()));
});
console.log(`hot paths: node ${version}, ${N} ops x ${ROUNDS} rounds per child (median), ${REPEATS} children per mode, alternating; medians of those`);
const all = Object.fromEntries(Object.keys(MODES).map((m) => [m, []]));
for (let i = 0; i < REPEATS; i++) for (const m of Object.keys(MODES)) all[m].push(await run(m));
sink.disconnect();

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const pick = (m, k, f) => median(all[m].filter((r) => !r.error).map((r) => r[k]?.[f]));
for (const [m, rs] of Object.entries(all)) for (const r of rs) if (r.error) console.log(`${m}: ${r.error}`);
console.log('\noperation            mode       ns/op   CPU ns/op   bytes/op   vs SDK direct');
const summary = {};
for (const [k, label] of [['span', 'span start+end'], ['unsampled', 'unsampled span'], ['counter', 'counter add'], ['workerCounter', 'counter add, worker']]) {
  for (const m of Object.keys(MODES)) {
    const ns = pick(m, k, 'ns');
    const cpu = pick(m, k, 'cpuNs');
    const bytes = pick(m, k, 'bytes');
    summary[`${k}/${m}`] = { ns, cpuNs: cpu, bytes };
    const vs = m === 'sdk' ? '1.00x' : `${(ns / pick('sdk', k, 'ns')).toFixed(2)}x`;
    console.log(`${label.padEnd(20)} ${m.padEnd(9)} ${ns.toFixed(0).padStart(6)} ${cpu.toFixed(0).padStart(11)} ${bytes.toFixed(0).padStart(10)} ${vs.padStart(15)}`);
  }
}
const providers = Object.fromEntries(Object.entries(all).map(([m, rs]) => [m, rs.find((r) => !r.error)?.workerMeterProvider]));
console.log(`\nworker thread's global meter provider: ${Object.entries(providers).map(([m, p]) => `${m}: ${p}`).join(', ')}`);
console.log('(ours starts no SDK in worker threads: a counter there is the API no-op and its data is not exported)');
const raw = { node: version, command: `node bench/hot-paths.mjs ${args.join(' ')}`.trim(), n: N, rounds: ROUNDS, repeats: REPEATS, summary, providers, runs: all };
if (json) writeFileSync(json, JSON.stringify(raw, null, 1));
console.log(`results: ${saveResults('hot-paths', version, raw)}`);
process.exit(0);
