#!/usr/bin/env node
// Runtime-metrics benchmark: `npm run bench:runtime [-- --rounds N --node PATH]`.
//
// What runtime metrics cost the app, in the same run, against the same app under our register
// with runtime metrics off (the baseline) and under plain node:
//   - alloc: an allocation-heavy loop, timed inside the child after the SDK warm-up, with a 1 MiB
//     young generation (--max-semi-space-size=1) so that it causes hundreds of GCs; the extra
//     time divided by the GC count is the cost per GC.
//   - idle:  CPU time spent over 3 s of an idle process (the event-loop sampler's wake-ups).
// Variants run one child at a time, alternating, for N rounds; medians are reported. Metrics go to
// a local OTLP sink on 127.0.0.1 that answers 200 (the export interval is longer than a run, so
// export cost is not in the numbers). Exits 0 whatever the numbers.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const child = join(here, 'apps', 'alloc-loop.cjs');
const NODES = { 22: 'node_modules/node22/bin/node', 24: 'node_modules/node/bin/node' };

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i === -1 ? dflt : args[i + 1];
};
if (args.includes('--help') || args.includes('-h')) {
  console.log('usage: node bench/runtime.mjs [--rounds N] [--node PATH|22|24]');
  process.exit(0);
}
const rounds = Number(opt('--rounds', 7));
const nodeArg = opt('--node', process.env.BENCH_NODE);
const node = nodeArg ? (NODES[nodeArg] ? join(root, NODES[nodeArg]) : nodeArg) : process.execPath;

const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end());
});
await new Promise((r) => sink.listen(0, '127.0.0.1', r));
const endpoint = `http://127.0.0.1:${sink.address().port}`;

const REGISTER = ['--require', join(root, 'register', 'index.cjs')];
const base = { OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_METRIC_EXPORT_INTERVAL: '600000' };
const VARIANTS = {
  plain: { flags: [], env: {} },
  'ours, runtime off': { flags: REGISTER, env: { ...base, OTEL_NODE_RUNTIME_METRICS: 'none' } },
  'ours, runtime on': { flags: REGISTER, env: base },
  'ours, on + extras': { flags: REGISTER, env: { ...base, OTEL_NODE_RUNTIME_METRICS_EXTRAS: 'all' } },
  'upstream runtime-node': { flags: REGISTER, env: { ...base, OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'runtime-node' } },
};

function run(flags, env) {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS'));
    const c = spawn(node, ['--max-semi-space-size=1', ...flags, child], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
    c.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`exit ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)));
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const version = await new Promise((r) => {
  const c = spawn(node, ['--version']);
  let o = '';
  c.stdout.on('data', (d) => (o += d));
  c.on('close', () => r(o.trim()));
});
console.log(`runtime-metrics benchmark: node ${version}, ${rounds} rounds, variants alternate\n`);

const { gcs } = await run([], { WORK: 'alloc', COUNT_GCS: '1' });
const results = {};
for (const work of ['alloc', 'idle']) {
  const samples = Object.fromEntries(Object.keys(VARIANTS).map((k) => [k, []]));
  for (let i = 0; i < rounds; i++)
    for (const [name, v] of Object.entries(VARIANTS)) samples[name].push(await run(v.flags, { ...v.env, WORK: work }));
  results[work] = Object.fromEntries(Object.entries(samples).map(([k, s]) => [k, { wall: median(s.map((x) => x.wall)), cpu: median(s.map((x) => x.cpu)) }]));
}
sink.close();

const off = results.alloc['ours, runtime off'];
console.log(`alloc loop (${gcs} GCs per run, seen by a separate counting run)`);
console.log('variant                    loop ms   vs runtime off   per GC');
for (const [name, r] of Object.entries(results.alloc)) {
  const perGc = name === 'plain' || name === 'ours, runtime off' ? '' : `${(((r.wall - off.wall) / gcs) * 1000).toFixed(1)} µs`;
  console.log(`${name.padEnd(26)} ${r.wall.toFixed(1).padStart(7)}   ${(r.wall / off.wall).toFixed(3).padStart(13)}x   ${perGc}`);
}
console.log('\nidle 3 s: CPU time spent');
console.log('variant                    CPU ms   vs runtime off');
const idleOff = results.idle['ours, runtime off'];
for (const [name, r] of Object.entries(results.idle)) console.log(`${name.padEnd(26)} ${r.cpu.toFixed(1).padStart(6)}   ${(r.cpu / idleOff.cpu).toFixed(2).padStart(13)}x`);
