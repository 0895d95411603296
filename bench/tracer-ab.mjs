#!/usr/bin/env node
// `node bench/tracer-ab.mjs [--workload http|express] [--requests N] [--rounds R] [--node 24|22|PATH]`
//
// Our tracer against upstream's SDK, same register otherwise: the steady-state apps
// (bench/apps/steady/) under `--require register`, OTEL_NODE_TRACER=lean then =sdk, alternating
// in each round, every request sampled and exported over OTLP http/protobuf to a local sink
// (bench/apps/otlp-sink.cjs). Per run: 2000 warm-up requests, then N measured, 10 keep-alive
// connections from this process; prints the server's CPU µs per request (process.cpuUsage() over
// the measured requests) and its RSS after them. Pairs taken minutes apart on a busy machine are
// not comparable; pairs taken back to back are, which is why this alternates. Exits 0 whatever
// the numbers.
import { fork } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { ROOT as root, benchArgs } from './args.mjs';

const here = join(root, 'bench');
const { opt, node } = benchArgs('usage: node bench/tracer-ab.mjs [--workload http|express] [--requests N] [--rounds R] [--node 24|22|PATH]');
const workload = opt('--workload', 'express');
const N = Number(opt('--requests', workload === 'express' ? '6000' : '10000'));
const ROUNDS = Number(opt('--rounds', '4'));
const app = { http: ['hello-http.cjs', '/'], express: ['hello-express.cjs', '/hello/x'] }[workload];
if (!app) throw new Error(`unknown workload ${workload}`);

const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS'));
const sink = fork(join(here, 'apps', 'otlp-sink.cjs'), [], { env: clean, stdio: 'ignore' });
const { port: sinkPort } = await new Promise((r) => sink.once('message', r));
const env = { ...clean, OTEL_SERVICE_NAME: 'bench', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`, OTEL_TRACES_SAMPLER: 'always_on', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_NODE_RESOURCE_DETECTORS: 'env' };

async function run(tracer) {
  const s = fork(join(here, 'apps', 'steady', app[0]), [], { execPath: node, execArgv: ['--require', join(root, 'register', 'index.cjs')], env: { ...env, OTEL_NODE_TRACER: tracer }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const { port } = await new Promise((r) => s.once('message', r));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  const get = () => new Promise((res, rej) => http.get({ host: '127.0.0.1', port, path: app[1], agent }, (r) => r.resume().on('end', res)).on('error', rej));
  const load = async (n) => {
    let i = 0;
    await Promise.all(Array.from({ length: 10 }, async () => {
      while (i++ < n) await get();
    }));
  };
  const mark = () => new Promise((r) => (s.once('message', r), s.send('mark')));
  await load(2000);
  const a = await mark();
  await load(N);
  const b = await mark();
  s.send('exit');
  await new Promise((r) => s.once('exit', r));
  agent.destroy();
  return { cpuUs: (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / N, rssMiB: b.rss / 2 ** 20 };
}

console.log(`${workload}: ${N} requests per run, ${ROUNDS} rounds, lean and sdk alternating`);
const all = { lean: [], sdk: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const t of ['lean', 'sdk']) {
    const m = await run(t);
    all[t].push(m);
    console.log(`round ${r + 1} ${t.padEnd(4)} CPU µs/req ${m.cpuUs.toFixed(1).padStart(7)}  RSS MiB ${m.rssMiB.toFixed(0)}`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const t of ['lean', 'sdk']) console.log(`median ${t.padEnd(4)} CPU µs/req ${median(all[t].map((m) => m.cpuUs)).toFixed(1)}`);
sink.kill();
process.exit(0);
