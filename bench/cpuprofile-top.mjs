#!/usr/bin/env node
// Reads a V8 CPU profile (node --cpu-prof): `node bench/cpuprofile-top.mjs FILE [--top N] [--match REGEX]`.
// Prints self time per function and, for the functions whose "name file:line" matches REGEX,
// inclusive time (each sample counted once per function on its stack), idle time excluded.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const file = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!file) {
  console.error('usage: node bench/cpuprofile-top.mjs FILE.cpuprofile [--top 25] [--match REGEX]');
  process.exit(2);
}
const top = Number(opt('--top', '25'));
const match = opt('--match');
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const key = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;

const selfById = new Map();
prof.samples.forEach((id, i) => selfById.set(id, (selfById.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
let total = 0;
let idle = 0;
const self = new Map();
const inclusive = new Map();
for (const [id, us] of selfById) {
  const n = byId.get(id);
  total += us;
  if (n.callFrame.functionName === '(idle)') {
    idle += us;
    continue;
  }
  self.set(key(n), (self.get(key(n)) ?? 0) + us);
  const seen = new Set();
  for (let x = id; x !== undefined; x = parent.get(x)) {
    const k = key(byId.get(x));
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}
const busy = total - idle;
const line = (k, us) => `${((100 * us) / busy).toFixed(1).padStart(6)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`;
console.log(`busy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms profiled\n\nself time`);
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(line(k, us));
if (match) {
  const re = new RegExp(match);
  console.log(`\ninclusive time, functions matching /${match}/`);
  for (const [k, us] of [...inclusive].filter(([k]) => re.test(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(line(k, us));
}
