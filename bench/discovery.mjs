// Plugin discovery cost: `node bench/discovery.mjs [--deps 200] [--rounds 30]`.
// Builds a throwaway app whose package.json lists N dependencies (a few of them plugins), then
// times discover() in fresh processes (what every start pays) and in-process repeats.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const DEPS = arg('--deps', 200);
const ROUNDS = arg('--rounds', 30);
const PLUGINS = 5;

const app = mkdtempSync(join(tmpdir(), 'otel-discovery-bench-'));
try {
  const deps = {};
  for (let i = 0; i < DEPS; i++) {
    const name = `dep-${i}`;
    deps[name] = '1.0.0';
    const dir = join(app, 'node_modules', name);
    mkdirSync(join(dir, 'otel'), { recursive: true });
    const pkg = { name, version: '1.0.0', main: 'index.js', description: 'x'.repeat(400), dependencies: { lodash: '^4' } };
    if (i < PLUGINS) {
      pkg.otel = { schemaVersion: 1, instrumentations: [{ name: `plugin-${i}`, entry: './otel/i.js', export: 'I', instruments: [`${name}@^1`] }] };
      writeFileSync(join(dir, 'otel', 'i.js'), 'exports.I = class {};\n');
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'bench-app', private: true, dependencies: deps }, null, 2));
  writeFileSync(join(app, 'app.js'), '');

  const script = `
    const { discover } = require(${JSON.stringify(join(root, 'dist/plugins/discover.js'))});
    const { validRange } = require(${JSON.stringify(join(root, 'node_modules/semver'))});
    const o = { script: ${JSON.stringify(join(app, 'app.js'))}, cwd: process.cwd(), disabled: [], validRange: (r) => validRange(r) !== null };
    const t0 = performance.now();
    const d = discover(o);
    const cold = performance.now() - t0;
    const warm = [];
    for (let i = 0; i < 20; i++) { const t = performance.now(); discover(o); warm.push(performance.now() - t); }
    warm.sort((a, b) => a - b);
    console.log(JSON.stringify({ cold, warm: warm[10], plugins: d.plugins.length, warnings: d.warnings.length }));`;
  const node = join(root, 'node_modules/node/bin/node');
  const runs = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = spawnSync(node, ['-e', script], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    runs.push(JSON.parse(r.stdout));
  }
  const med = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const first = runs[0];
  console.log(`plugin discovery, app with ${DEPS} dependencies (${PLUGINS} of them plugins), ${ROUNDS} fresh processes, Node ${spawnSync(node, ['-p', 'process.version'], { encoding: 'utf8' }).stdout.trim()}`);
  console.log(`  first call in a process (what a start pays): median ${med(runs.map((r) => r.cold)).toFixed(2)} ms`);
  console.log(`  repeated call, same process (warm fs cache): median ${med(runs.map((r) => r.warm)).toFixed(2)} ms`);
  console.log(`  plugins found: ${first.plugins}, warnings: ${first.warnings}`);
} finally {
  rmSync(app, { recursive: true, force: true });
}
