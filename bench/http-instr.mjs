#!/usr/bin/env node
// instrumentation-http against the prototype diagnostics_channel server instrumentation
// (src/instrumentations/http-server), under the same SDK (our register):
// `npm run build && node bench/http-instr.mjs [--rounds 3 --duration 8 --node 22 --env K=V ...]`.
//
// Variants, alternating within each round, each a fresh server process (bench/apps/steady/):
//   plain      no instrumentation
//   upstream   ours --require with OTEL_NODE_HTTP_SERVER_INSTRUMENTATION=upstream: instrumentation-http
//              for incoming requests (the default before our server instrumentation was wired;
//              the default now is what `lean-proto` measures, through the hook: bench/steady.mjs
//              --variant ours --variant ours-upstream-http compares the two at the workload level)
//   wired      ours --require as it ships: our server instrumentation through the hook (the default)
//   lean       ours --require with http turned off, plus bench/apps/http-instr/lean-preload.cjs
//   lean-nobind  lean without binding the request/response emitters (LEAN_BIND=false)
//   lean-proto   lean binding them through patched prototypes (LEAN_BIND=prototype)
//   none       ours --require with http turned off and nothing in its place (the SDK's floor)
// Traces go over OTLP to a local sink as in bench/steady.mjs (every request sampled unless
// --env OTEL_TRACES_SAMPLER=always_off). Reports the server's CPU per request
// (process.cpuUsage() over the measured window / requests, user and system apart), the overhead
// over plain node, requests/s and OTLP bytes per request (the same spans should weigh the same).
// --inproc: no network; each variant runs bench/apps/http-instr/inproc.cjs instead (the server
// side of a request driven in process: the instrumentation's and the SDK's CPU without the
// kernel's, far less disturbed by a busy machine), one child per variant and round;
// INPROC_APP=express runs the Express hello-world there, INPROC_N and INPROC_ROUNDS size it.
// Exits 0 whatever the numbers.
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLaunchers, launcherEnv, loadAutocannon } from './launchers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const appsDir = join(here, 'apps');
const NODES = { 22: 'node_modules/node22/bin/node', 24: 'node_modules/node/bin/node' };
const register = ['--require', join(root, 'register', 'index.cjs')];
const noHttp = { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http' };
const lean = [...register, '--require', join(appsDir, 'http-instr', 'lean-preload.cjs')];
const VARIANTS = {
  plain: { flags: [], env: {} },
  upstream: { flags: register, env: { OTEL_NODE_HTTP_SERVER_INSTRUMENTATION: 'upstream' } },
  wired: { flags: register, env: { OTEL_NODE_HTTP_SERVER_INSTRUMENTATION: 'lean' } },
  lean: { flags: lean, env: noHttp },
  'lean-nobind': { flags: lean, env: { ...noHttp, LEAN_BIND: 'false' } },
  'lean-proto': { flags: lean, env: { ...noHttp, LEAN_BIND: 'prototype' } },
  none: { flags: register, env: noHttp },
};
const WORKLOADS = { http: ['hello-http.cjs', '/'], express: ['hello-express.cjs', '/hello/world'] };

const argv = process.argv.slice(2);
const o = { inproc: false, rounds: 3, warmup: 4, duration: 8, node: '24', workload: 'http', variants: [], env: {} };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--inproc') {
    o.inproc = true;
    continue;
  }
  const v = argv[++i];
  if (a === '--rounds') o.rounds = Number(v);
  else if (a === '--warmup') o.warmup = Number(v);
  else if (a === '--duration') o.duration = Number(v);
  else if (a === '--node') o.node = v;
  else if (a === '--workload' && WORKLOADS[v]) o.workload = v;
  else if (a === '--variant' && VARIANTS[v]) o.variants.push(v);
  else if (a === '--env' && v?.includes('=')) o.env[v.slice(0, v.indexOf('='))] = v.slice(v.indexOf('=') + 1);
  else {
    console.error(`usage: node bench/http-instr.mjs [--rounds N] [--warmup S] [--duration S] [--inproc] [--node 22|24|PATH] [--workload http|express] [--variant ${Object.keys(VARIANTS).join('|')}]... [--env K=V]...`);
    process.exit(2);
  }
}
const variants = o.variants.length ? ['plain', ...o.variants.filter((v) => v !== 'plain')] : ['plain', 'upstream', 'lean', 'lean-nobind', 'none'];
const node = NODES[o.node] ? join(root, NODES[o.node]) : resolvePath(o.node);
if (!ensureLaunchers()) process.exit(2);
const autocannon = loadAutocannon();

const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && !k.startsWith('DD_') && k !== 'NODE_OPTIONS'));
function forkReady(script, execArgv, env) {
  return new Promise((resolve, reject) => {
    const c = fork(script, [], { cwd: appsDir, execPath: node, execArgv, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    c.stderr.on('data', (d) => (stderr += d));
    c.once('message', (first) => resolve({ child: c, first, stderr: () => stderr }));
    c.once('exit', (code) => reject(new Error(`${script} exited (${code}): ${stderr.slice(0, 500)}`)));
  });
}
const ask = (child, msg) => new Promise((r) => (child.once('message', r), child.send(msg)));
const load = (port, path, seconds) => new Promise((r, j) => autocannon({ url: `http://127.0.0.1:${port}${path}`, connections: 10, duration: seconds }, (e, res) => (e ? j(e) : r(res))));

const sink = await forkReady(join(appsDir, 'otlp-sink.cjs'), [], clean);
const base = { ...clean, ...launcherEnv(`http://127.0.0.1:${sink.first.port}`) };
const [app, path] = WORKLOADS[o.workload];

/** --inproc: one child, its JSON line. */
function inproc(variant) {
  const { flags, env } = VARIANTS[variant];
  return new Promise((resolve, reject) => {
    const c = fork(join(appsDir, 'http-instr', 'inproc.cjs'), [], { cwd: appsDir, execPath: node, execArgv: flags, env: { ...base, ...(variant === 'plain' ? {} : o.env), ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.once('exit', () => {
      try {
        const r = JSON.parse(out.trim().split('\n').pop());
        resolve({ cpu: r.cpuUsPerReq, min: r.min, user: NaN, sys: NaN, rps: NaN, bytes: NaN });
      } catch {
        reject(new Error(`${variant}: no result: ${err.slice(0, 500)}`));
      }
    });
  });
}

async function measure(variant) {
  if (o.inproc) return inproc(variant);
  const { flags, env } = VARIANTS[variant];
  const s = await forkReady(join(appsDir, 'steady', app), flags, { ...base, ...(variant === 'plain' ? {} : o.env), ...env });
  try {
    await load(s.first.port, path, o.warmup);
    const sinkBefore = await ask(sink.child, 'count');
    const before = await ask(s.child, 'mark');
    const r = await load(s.first.port, path, o.duration);
    const after = await ask(s.child, 'mark');
    const sinkAfter = await ask(sink.child, 'count');
    const n = r.requests.total;
    const user = (after.cpu.user - before.cpu.user) / n;
    const sys = (after.cpu.system - before.cpu.system) / n;
    if (r.non2xx || r.errors) throw new Error(`${r.non2xx + r.errors} failed requests; ${s.stderr().slice(0, 300)}`);
    return { cpu: user + sys, user, sys, rps: n / o.duration, bytes: (sinkAfter.bytes - sinkBefore.bytes) / n };
  } finally {
    s.child.send('exit');
    await new Promise((r) => (s.child.exitCode !== null ? r() : s.child.once('exit', r)));
  }
}

const version = (await forkReady(join(appsDir, 'steady', 'version.cjs'), [], clean)).first;
console.log(`http-instr bench${o.inproc ? ` (in process, no network; each child ${process.env.INPROC_ROUNDS || 9} rounds of ${process.env.INPROC_N || 20000} requests after 2 warm-up rounds)` : ``}: node ${version.node}, workload ${o.inproc ? `${process.env.INPROC_APP === 'express' ? 'express' : 'http'} (in process)` : o.workload}, ${o.rounds} rounds x ${variants.length} variants${o.inproc ? `` : `, ${o.warmup} s + ${o.duration} s each`}`);
console.log(`env for the instrumented variants: ${JSON.stringify(o.env)}; load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const runs = Object.fromEntries(variants.map((v) => [v, []]));
for (let round = 0; round < o.rounds; round++) for (const v of variants) runs[v].push(await measure(v));
sink.child.disconnect();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const med = (v, k) => median(runs[v].map((r) => r[k]));
const plain = med('plain', 'cpu');
console.log(`load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
console.log('variant       CPU µs/req  (user + sys)   over plain   req/s   OTLP B/req   per round CPU µs/req');
for (const v of variants) {
  const cells = [v.padEnd(12), med(v, 'cpu').toFixed(1).padStart(11), `(${med(v, 'user').toFixed(1)} + ${med(v, 'sys').toFixed(1)})`.padStart(14), (med(v, 'cpu') - plain).toFixed(1).padStart(12), med(v, 'rps').toFixed(0).padStart(7), med(v, 'bytes').toFixed(0).padStart(12)];
  console.log(`${cells.join(' ')}   ${runs[v].map((r) => r.cpu.toFixed(1)).join(' ')}`);
}
if (o.inproc) {
  const best = (v) => Math.min(...runs[v].map((r) => r.min));
  console.log(`\nfastest round of all (least disturbed by other processes), CPU µs/request: ${variants.map((v) => `${v} ${best(v).toFixed(2)} (+${(best(v) - best('plain')).toFixed(2)})`).join(', ')}`);
}
if (runs.upstream && runs.lean) console.log(`\nlean saves ${(med('upstream', 'cpu') - med('lean', 'cpu')).toFixed(1)} µs/request of upstream's ${(med('upstream', 'cpu') - plain).toFixed(1)} µs overhead (medians)`);
process.exit(0);
