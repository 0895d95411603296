#!/usr/bin/env node
// Heap bytes allocated per request, in process: `npm run build && node bench/alloc.mjs
// [--app http|express]... [--node 22|24|PATH] [--base DIR] [--env K=V]... [--profile]`.
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
// does not change them much. Exits 0 whatever the numbers.
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
const o = { apps: [], node: '24', base: undefined, profile: false, env: {} };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--profile') {
    o.profile = true;
    continue;
  }
  const v = argv[++i];
  if (a === '--app' && (v === 'http' || v === 'express')) o.apps.push(v);
  else if (a === '--node' && v) o.node = v;
  else if (a === '--base' && v) o.base = resolvePath(v);
  else if (a === '--env' && v?.includes('=')) o.env[v.slice(0, v.indexOf('='))] = v.slice(v.indexOf('=') + 1);
  else {
    console.error('usage: node bench/alloc.mjs [--app http|express]... [--node 22|24|PATH] [--base DIR] [--env K=V]... [--profile]');
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
  return new Promise((resolve, reject) => {
    const c = fork(join(appsDir, 'alloc', 'child.cjs'), [], {
      cwd: appsDir,
      execPath: node,
      execArgv: [...YOUNG, ...flags],
      env: { ...base, ...env, ALLOC_APP: app, ...(o.profile ? { ALLOC_PROFILE: '1' } : {}) },
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
console.log(`alloc bench: node ${version}, in process; env for the register variants ${JSON.stringify(o.env)}${o.base ? `; base = ${o.base}` : ''}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const app of o.apps) {
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
sink.disconnect();
process.exit(0);
