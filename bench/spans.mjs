#!/usr/bin/env node
// What each launcher records per request in the steady-state workloads: `node bench/spans.mjs`.
// For each launcher and workload, one server (same environment as bench/steady.mjs, but exporting
// to a real OTLP decoder on 127.0.0.1, test/helpers/otlp.mjs) gets 20 sequential requests and is
// stopped; the spans received are grouped by instrumentation scope, kind and name, per request.
// The throughput ratios in steady.mjs only compare like with like if these match (and if every
// trace is exported: steady.mjs's traced % column). Expected, Express 5: ours 2 spans per request
// (server, express `request handler`), upstream and EDOT 4 (router's spans repeat express's
// layers; ours too with OTEL_NODE_EXPRESS_ROUTER_SPANS=true, docs/performance.md).
import { fork } from 'node:child_process';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startReceiver, waitFor } from '../test/helpers/otlp.mjs';
import { LAUNCHER_LABELS, ensureLaunchers, launcherEnv, launcherFlags } from './launchers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const node = process.env.BENCH_NODE || join(root, 'node_modules/node/bin/node');
const REQUESTS = 20;
const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
ensureLaunchers();
const flags = launcherFlags(root);
const receiver = await startReceiver();
const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && !k.startsWith('DD_') && k !== 'NODE_OPTIONS'));
const get = (port, path) =>
  new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    r.on('error', reject);
    r.end();
  });

for (const [workload, path] of [['http', '/'], ['express', '/hello/world']]) {
  console.log(`\n${workload} (GET ${path}), spans per request:`);
  for (const [v, f] of Object.entries(flags)) {
    if (v === 'plain' || !f) continue;
    receiver.clear();
    // dd-trace speaks OTLP http/json only: the decoder takes both.
    const env = { ...clean, ...launcherEnv(receiver.httpUrl, v), ...(v.startsWith('ddtrace') ? { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } : {}) };
    const c = fork(join(here, 'apps', 'steady', `hello-${workload}.cjs`), [], { cwd: join(here, 'apps'), execPath: node, execArgv: f, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const { port } = await new Promise((r) => c.once('message', r));
    for (let i = 0; i < REQUESTS; i++) await get(port, path);
    c.send('exit');
    await new Promise((r) => c.once('exit', r));
    await waitFor(() => receiver.spans().length >= REQUESTS, 3000);
    const groups = new Map();
    for (const s of receiver.spans()) {
      const k = `${KINDS[s.kind] ?? s.kind} ${s.scope ?? '?'}: ${s.name}`;
      groups.set(k, (groups.get(k) ?? 0) + 1);
    }
    const total = receiver.spans().length;
    console.log(`  ${LAUNCHER_LABELS[v]}: ${(total / REQUESTS).toFixed(1)} spans/request`);
    for (const [k, n] of [...groups].sort((a, b) => b[1] - a[1])) console.log(`    ${(n / REQUESTS).toFixed(2).padStart(5)}  ${k}`);
  }
}
await receiver.close();
process.exit(0);
