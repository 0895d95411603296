#!/usr/bin/env node
// GC under load, A/B: `node bench/gc-ab.mjs [--rounds 4 --duration 6 --warmup 2 --node 24|22|PATH]`.
//
// The steady-state apps (bench/apps/steady/) under `--require register --trace-gc-nvp`, loaded by
// autocannon (10 connections) on 127.0.0.1, exporting every span over OTLP http/protobuf to the
// local sink, with our batch processor that encodes each span as it ends (OTEL_NODE_TRACES_ENCODE_AT_END
// default) and with upstream's BatchSpanProcessor (=false), alternating within each round, first
// one then the other. Per
// run: CPU µs per request, RSS and the young generation's size after the load, and from V8's GC
// trace the last 8 scavenges' allocated, survived and promoted bytes, and the GC pause time per
// request over the whole run. The server runs on the last CPU (taskset) when there are 2 or more.
// Medians over rounds. Exits 0 whatever the numbers (issue 19; docs/performance.md).
import { fork, spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { benchArgs, ROOT } from './args.mjs';
import { ensureLaunchers, launcherEnv, loadAutocannon } from './launchers.mjs';

const { opt, node } = benchArgs('usage: node bench/gc-ab.mjs [--rounds 4 --duration 6 --warmup 2 --node 24|22|PATH]');
const ROUNDS = Number(opt('--rounds', '4'));
const DURATION = Number(opt('--duration', '6'));
const WARMUP = Number(opt('--warmup', '2'));
const APPS = { http: ['hello-http.cjs', '/'], express: ['hello-express.cjs', '/hello/world'] };
const VARIANTS = { 'encode at end': 'true', 'upstream BatchSpanProcessor': 'false' };
if (!ensureLaunchers()) process.exit(0);
const autocannon = loadAutocannon();
const apps = join(ROOT, 'bench', 'apps');
const cpus = availableParallelism();
const pin = (pid, list) => cpus > 1 && spawnSync('taskset', ['-a', '-pc', list, String(pid)], { stdio: 'ignore' });

const ready = (child) => new Promise((resolve) => child.once('message', resolve));
const ask = (child, msg) => {
  const p = ready(child);
  child.send(msg);
  return p;
};
const load = (port, path, seconds) => new Promise((resolve, reject) => autocannon({ url: `http://127.0.0.1:${port}${path}`, connections: 10, duration: seconds }, (e, r) => (e ? reject(e) : resolve(r))));

const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS'));
const sink = fork(join(apps, 'otlp-sink.cjs'), [], { env: clean, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
const endpoint = `http://127.0.0.1:${(await ready(sink)).port}`;
if (cpus > 1) pin(process.pid, `0-${cpus - 2}`);

async function run(app, encode) {
  const [file, path] = APPS[app];
  const env = { ...clean, ...launcherEnv(endpoint, 'ours'), OTEL_NODE_TRACES_ENCODE_AT_END: encode };
  const server = fork(join(apps, 'steady', file), [], { cwd: apps, execPath: node, execArgv: ['--trace-gc-nvp', '--require', join(ROOT, 'register', 'index.cjs')], env, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  pin(server.pid, String(cpus - 1));
  let trace = '';
  server.stdout.on('data', (d) => (trace += d));
  const { port } = await ready(server);
  const warm = await load(port, path, WARMUP);
  const before = await ask(server, 'mark');
  const r = await load(port, path, DURATION);
  const after = await ask(server, 'mark');
  server.send('exit');
  await new Promise((resolve) => server.once('exit', resolve));
  const events = trace.split('\n').filter((l) => l.includes('pause='));
  const field = (l, k) => Number(new RegExp(`(?:^|\\s)${k}=([\\d.]+)`).exec(l)?.[1] ?? NaN);
  const scavenges = events.filter((l) => /gc=s\b/.test(l)).slice(-8);
  const avg = (k) => scavenges.reduce((n, l) => n + field(l, k), 0) / scavenges.length / 2 ** 20;
  const requests = r.requests.total;
  return {
    cpuUsPerReq: (after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system) / requests,
    rps: requests / DURATION,
    rssMiB: after.rss / 2 ** 20,
    newSpaceMiB: after.newSpace / 2 ** 20,
    allocMiB: avg('allocated'),
    survivedMiB: avg('new_space_survived'),
    promotedMiB: avg('promoted'),
    gcUsPerReq: (events.reduce((n, l) => n + field(l, 'pause'), 0) * 1000) / (requests + warm.requests.total),
    markCompacts: events.filter((l) => /gc=(mc|mmc)\b/.test(l)).length,
  };
}

console.log(`GC A/B, Node at ${node}; ${ROUNDS} rounds, ${WARMUP} s warm-up + ${DURATION} s measured; load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const results = {};
// The variants' order flips every round, so neither always runs first.
for (let i = 0; i < ROUNDS; i++) {
  for (const app of Object.keys(APPS)) {
    const order = Object.entries(VARIANTS);
    if (i % 2 === 1) order.reverse();
    for (const [v, e] of order) (results[`${app}/${v}`] ??= []).push(await run(app, e));
  }
}
sink.kill();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const cols = [['req/s', 'rps', 0], ['CPU µs/req', 'cpuUsPerReq', 1], ['GC pause µs/req', 'gcUsPerReq', 2], ['RSS MiB', 'rssMiB', 0], ['new space MiB', 'newSpaceMiB', 0], ['scavenge alloc MiB', 'allocMiB', 1], ['survived MiB', 'survivedMiB', 2], ['promoted MiB', 'promotedMiB', 2], ['mark-compacts', 'markCompacts', 0]];
console.log(`\nmedians (lower median for even counts) [min-max]; load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const [key, runs] of Object.entries(results)) {
  console.log(`${key}:`);
  for (const [label, k, d] of cols) console.log(`  ${label.padEnd(20)} ${median(runs.map((r) => r[k])).toFixed(d).padStart(8)}  [${Math.min(...runs.map((r) => r[k])).toFixed(d)}-${Math.max(...runs.map((r) => r[k])).toFixed(d)}]`);
}
