#!/usr/bin/env node
// Heap bytes allocated per request, in process: `npm run build && node bench/alloc.mjs
// [--app http|express]... [--node 22|24|PATH] [--base DIR] [--env K=V]... [--profile | --cpu [--rounds N]]`.
//
// Each variant runs bench/apps/alloc/child.cjs (requests served by bench/apps/http-instr/drive.cjs,
// no network) in a fresh process with a young generation large enough that a round of requests
// triggers no collection; a round starts after a full gc() and its heap growth divided by its
// requests is the allocation per request (median of rounds; rounds V8 collected in are retried).
// Variants: plain (no register), on (our register, every request sampled, OTLP http/protobuf to
// a local sink), off (OTEL_TRACES_SAMPLER=always_off); with --base DIR also base-on and base-off,
// the same with DIR's register (another checkout's build, e.g. main's), alternating with ours.
// The driver's own objects (request, response, socket writes to nowhere) are in every variant:
// read the difference to plain. --profile: the sampling heap profiler instead, printing each
// variant's top allocation sites (bytes per request, site <- caller); ALLOC_TOP sets how many.
// ALLOC_N and ALLOC_ROUNDS size the rounds. Allocation counts are not timings: a busy machine
// does not change them much. --cpu: CPU µs per request instead, the same variants alternating
// for --rounds N (default 3), each a child running bench/apps/http-instr/inproc.cjs (INPROC_N,
// INPROC_ROUNDS; default here 10000 and 7); reports the fastest round of each variant, the one
// least disturbed by other processes, and the medians. Exits 0 whatever the numbers.
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launcherEnv } from './launchers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const appsDir = join(here, 'apps');
const NODES = { 22: 'node_modules/node22/bin/node', 24: 'node_modules/node/bin/node' };
const YOUNG = ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'];

const argv = process.argv.slice(2);
const o = { apps: [], node: '24', base: undefined, profile: false, cpu: false, rounds: 3, env: {} };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--profile' || a === '--cpu') {
    o[a.slice(2)] = true;
    continue;
  }
  const v = argv[++i];
  if (a === '--app' && (v === 'http' || v === 'express')) o.apps.push(v);
  else if (a === '--node' && v) o.node = v;
  else if (a === '--base' && v) o.base = resolvePath(v);
  else if (a === '--rounds' && Number(v) > 0) o.rounds = Number(v);
  else if (a === '--env' && v?.includes('=')) o.env[v.slice(0, v.indexOf('='))] = v.slice(v.indexOf('=') + 1);
  else {
    console.error('usage: node bench/alloc.mjs [--app http|express]... [--node 22|24|PATH] [--base DIR] [--env K=V]... [--profile | --cpu [--rounds N]]');
    process.exit(2);
  }
}
if (o.apps.length === 0) o.apps = ['http', 'express'];
const node = NODES[o.node] ? join(root, NODES[o.node]) : resolvePath(o.node);
const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS'));

const sink = fork(join(appsDir, 'otlp-sink.cjs'), [], { cwd: appsDir, execPath: node, env: clean, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
const { port } = await new Promise((r) => sink.once('message', r));
const base = { ...clean, ...launcherEnv(`http://127.0.0.1:${port}`) };
const reg = (dir) => ['--require', join(dir, 'register', 'index.cjs')];
const VARIANTS = { plain: { flags: [], env: {} }, on: { flags: reg(root), env: o.env }, off: { flags: reg(root), env: { ...o.env, OTEL_TRACES_SAMPLER: 'always_off' } } };
if (o.base) {
  VARIANTS['base-on'] = { flags: reg(o.base), env: o.env };
  VARIANTS['base-off'] = { flags: reg(o.base), env: { ...o.env, OTEL_TRACES_SAMPLER: 'always_off' } };
}
const order = o.base ? ['plain', 'base-on', 'on', 'base-off', 'off'] : ['plain', 'on', 'off'];

function run(variant, app) {
  const { flags, env } = VARIANTS[variant];
  const child = o.cpu ? join(appsDir, 'http-instr', 'inproc.cjs') : join(appsDir, 'alloc', 'child.cjs');
  const sizes = o.cpu ? { INPROC_APP: app, INPROC_N: process.env.INPROC_N || '10000', INPROC_ROUNDS: process.env.INPROC_ROUNDS || '7' } : { ALLOC_APP: app };
  return new Promise((resolve, reject) => {
    const c = fork(child, [], {
      cwd: appsDir,
      execPath: node,
      execArgv: o.cpu ? flags : [...YOUNG, ...flags],
      env: { ...base, ...env, ...sizes, ...(o.profile ? { ALLOC_PROFILE: '1' } : {}) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.once('exit', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        reject(new Error(`${variant}: no result: ${err.slice(0, 500)}`));
      }
    });
  });
}

const version = (await new Promise((r) => fork(join(appsDir, 'steady', 'version.cjs'), [], { execPath: node, env: clean }).once('message', r))).node;
console.log(`alloc bench${o.cpu ? ' --cpu' : ''}: node ${version}, in process; env for the register variants ${JSON.stringify(o.env)}${o.base ? `; base = ${o.base}` : ''}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const app of o.cpu ? o.apps : []) {
  const rs = Object.fromEntries(order.map((v) => [v, []]));
  for (let r = 0; r < o.rounds; r++) for (const v of order) rs[v].push(await run(v, app));
  const best = (v) => Math.min(...rs[v].map((x) => x.min));
  console.log(`\n${app}: CPU µs per request, fastest round (over plain); median of the children's fastest rounds; each child's (${o.rounds} children per variant, alternating)`);
  for (const v of order) console.log(`  ${v.padEnd(9)} ${best(v).toFixed(2).padStart(7)} (+${(best(v) - best('plain')).toFixed(2)})  ${median(rs[v].map((x) => x.min)).toFixed(2).padStart(7)}   ${rs[v].map((x) => x.min.toFixed(2)).join(' ')}`);
}
for (const app of o.cpu ? [] : o.apps) {
  const rs = {};
  for (const v of order) rs[v] = await run(v, app);
  if (o.profile) {
    for (const v of order) {
      console.log(`\n${app} ${v}: ~${rs[v].sampledBytesPerReq.toFixed(0)} B/request sampled; top sites (B/request):`);
      for (const [b, site] of rs[v].top) console.log(`${String(b).padStart(7)}  ${site}`);
    }
    continue;
  }
  console.log(`\n${app}: bytes allocated per request (median of ${rs.plain.rounds}+ rounds; min..max), and over plain`);
  for (const v of order) {
    const r = rs[v];
    console.log(`  ${v.padEnd(9)} ${r.bytesPerReq.toFixed(0).padStart(7)}  (${r.min.toFixed(0)}..${r.max.toFixed(0)}, rounds of ${r.n})  +${(r.bytesPerReq - rs.plain.bytesPerReq).toFixed(0)}`);
  }
}
console.log(`load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
sink.disconnect();
process.exit(0);
