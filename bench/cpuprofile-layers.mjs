#!/usr/bin/env node
// Self time of a server's CPU profile by layer, in µs per request:
// `node bench/cpuprofile-layers.mjs FILE.cpuprofile --requests N [--detail LAYER]`.
// N is the requests the profile covers (bench/profile.mjs prints it). Layers: each package under
// node_modules, our dist/, the app, Node internals, GC. Two reattributions make the layers answer
// "who asked for this work": a native frame (writev, hexSlice, the HTTP parser) counts for the
// nearest JavaScript caller; Node's own JavaScript (node:*) counts for the nearest package that
// called it, shown as "node <- caller" ("node internals" when nothing but Node is on the stack:
// the HTTP parser's callbacks, the tick queue); and @opentelemetry/core's helpers (hrTime,
// cleanAttributes, suppressTracing) count for the package that called them ("core <- caller").
// Idle excluded; startup is in the profile too, so the small layers carry a little of it.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const file = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const requests = Number(opt('--requests'));
const detail = opt('--detail');
if (!file || !(requests > 0)) {
  console.error('usage: node bench/cpuprofile-layers.mjs FILE.cpuprofile --requests N [--detail LAYER]');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const pkg = (url) => {
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.includes('/bench/apps/')) return 'the app';
  return url.includes('/dist/') ? 'otel-autoinstrument dist/' : url;
};
const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)']);
function layer(id) {
  const n = byId.get(id);
  const fn = n.callFrame.functionName;
  if (!n.callFrame.url && SPECIAL.has(fn)) return fn === '(program)' ? 'node internals' : fn;
  let x = id;
  while (x !== undefined && !byId.get(x).callFrame.url) x = parent.get(x);
  if (x === undefined) return 'node internals';
  const own = pkg(byId.get(x).callFrame.url);
  if (own !== '@opentelemetry/core' && own !== 'node internals') return own;
  // Node's own code and core's helpers count for the package that called them.
  for (let y = parent.get(x); y !== undefined; y = parent.get(y)) {
    const url = byId.get(y).callFrame.url;
    if (!url) continue;
    const p = pkg(url);
    if (p === 'node internals' || p === own) continue;
    if (own === 'node internals') return `node <- ${p === '@opentelemetry/core' ? 'core' : p}`;
    if (p !== '@opentelemetry/api') return `core <- ${p}`;
  }
  return own;
}

const selfById = new Map();
prof.samples.forEach((id, i) => selfById.set(id, (selfById.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
const layers = new Map();
const fns = new Map();
let busy = 0;
for (const [id, us] of selfById) {
  const l = layer(id);
  if (l === '(idle)' || l === '(root)') continue;
  busy += us;
  layers.set(l, (layers.get(l) ?? 0) + us);
  if (detail && l === detail) {
    const cf = byId.get(id).callFrame;
    const k = `${cf.functionName || '(anonymous)'} ${cf.url.split('/').slice(-1)[0] || '(native)'}:${cf.lineNumber + 1}`;
    fns.set(k, (fns.get(k) ?? 0) + us);
  }
}
console.log(`busy ${(busy / 1000).toFixed(0)} ms over ${requests} requests = ${(busy / requests).toFixed(1)} µs/request under the profiler\n`);
console.log('  share   µs/req  layer');
for (const [l, us] of [...layers].sort((a, b) => b[1] - a[1])) console.log(`${((100 * us) / busy).toFixed(1).padStart(6)}%  ${(us / requests).toFixed(2).padStart(7)}  ${l}`);
if (detail) {
  console.log(`\n${detail}, by function (self µs/request)`);
  for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${(us / requests).toFixed(2).padStart(7)}  ${k}`);
}
