#!/usr/bin/env node
// Where a launcher's time per request goes: `node bench/profile.mjs [--variant ours] [--workload express] [--duration S]`.
// `--env K=V` (repeatable) adds to the server's environment; `--keep FILE` keeps the .cpuprofile
// (for bench/cpuprofile-top.mjs). Runs one steady-state server (bench/apps/steady/) under `--cpu-prof`, loads it with autocannon
// for the given seconds after a 2 s warm-up, stops it, and prints the profile's self time grouped
// by package (node_modules/<pkg>, our dist/, the app, node: internals, GC, idle). Same
// environment as bench/steady.mjs (traces to a local sink, every request sampled).
import { fork } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAUNCHER_LABELS, ensureLaunchers, launcherEnv, launcherFlags, loadAutocannon } from './launchers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const variant = opt('--variant', 'ours');
const workload = opt('--workload', 'express');
const duration = Number(opt('--duration', '8'));
const top = Number(opt('--top', '25'));
const node = opt('--node', join(root, 'node_modules/node/bin/node'));
const keep = opt('--keep');
const extraEnv = Object.fromEntries(args.flatMap((a, i) => (a === '--env' && args[i + 1]?.includes('=') ? [[args[i + 1].slice(0, args[i + 1].indexOf('=')), args[i + 1].slice(args[i + 1].indexOf('=') + 1)]] : [])));
if (!LAUNCHER_LABELS[variant] || !['http', 'express'].includes(workload)) {
  console.error('usage: node bench/profile.mjs [--variant plain|ours|upstream|edot|ddtrace] [--workload http|express] [--duration S] [--top N] [--env K=V] [--keep FILE]');
  process.exit(2);
}
if (!ensureLaunchers()) process.exit(2);
const autocannon = loadAutocannon();
const appsDir = join(here, 'apps');
const dir = mkdtempSync(join(tmpdir(), 'otel-autoinstrument-prof-'));
const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && !k.startsWith('DD_') && k !== 'NODE_OPTIONS'));

const ready = (c) => new Promise((r) => c.once('message', r));
const sink = fork(join(appsDir, 'otlp-sink.cjs'), [], { env: clean, stdio: 'ignore' });
const { port: sinkPort } = await ready(sink);
const app = join(appsDir, 'steady', workload === 'http' ? 'hello-http.cjs' : 'hello-express.cjs');
const server = fork(app, [], {
  cwd: appsDir,
  execPath: node,
  execArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...launcherFlags(root)[variant]],
  env: { ...clean, ...launcherEnv(`http://127.0.0.1:${sinkPort}`, variant), ...extraEnv },
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
const { port } = await ready(server);
const url = `http://127.0.0.1:${port}${workload === 'http' ? '/' : '/hello/world'}`;
const run = (d) => new Promise((r, j) => autocannon({ url, connections: 10, duration: d }, (e, res) => (e ? j(e) : r(res))));
const warm = await run(2);
const r = await run(duration);
server.send('exit');
await new Promise((r) => server.once('exit', r));
sink.disconnect();

const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
const prof = JSON.parse(readFileSync(join(dir, file), 'utf8'));
if (keep) copyFileSync(join(dir, file), keep);
rmSync(dir, { recursive: true, force: true });

/** Sample counts weighted by time deltas, grouped. */
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const group = (n) => {
  const url = n.callFrame.url;
  const fn = n.callFrame.functionName;
  if (!url) return fn === '(garbage collector)' || fn === '(idle)' || fn === '(program)' ? fn : `(native) ${fn || 'anonymous'}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.includes(`${root}/dist/`) || url.includes('/dist/')) return 'otel-autoinstrument dist/';
  return url.includes('/bench/apps/') ? 'the app' : url;
};
const groups = new Map();
const fns = new Map();
let totalUs = 0;
for (const [id, us] of self) {
  const n = byId.get(id);
  const g = group(n);
  totalUs += us;
  groups.set(g, (groups.get(g) ?? 0) + us);
  if (g !== '(idle)') {
    const key = `${g}: ${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-1)[0]}:${n.callFrame.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
}
const idle = groups.get('(idle)') ?? 0;
const busy = totalUs - idle;
const reqs = r.requests.total;
console.log(`${LAUNCHER_LABELS[variant]}, ${workload}: ${(reqs / duration).toFixed(0)} req/s under the profiler; profile covers start to exit`);
console.log(`requests in the profile: ${warm.requests.total + r.requests.total} (warm-up + measured; for bench/cpuprofile-layers.mjs --requests)`);
console.log(`main thread busy ${(busy / 1000).toFixed(0)} ms of ${(totalUs / 1000).toFixed(0)} ms profiled (startup, 2 s warm-up, ${duration} s measured, shutdown)`);
console.log('\nself time by package (idle excluded)');
for (const [g, us] of [...groups].filter(([g]) => g !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * us) / busy).toFixed(1).padStart(6)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${g}`);
console.log('\nhottest functions (self time)');
for (const [f, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * us) / busy).toFixed(1).padStart(6)}%  ${f}`);
