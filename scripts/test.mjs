// `npm test`: runs test/unit and test/e2e with node:test on the Node chosen by TEST_NODE
// (22, 24 (the default), or a path to a node binary). Prints node:test's report, then
// "N passed, N failed, N skipped".
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODES = { 22: 'node_modules/node22/bin/node', 24: 'node_modules/node/bin/node' };

// Explicit paths, not PATH: node_modules/.bin/node is whichever of the node packages npm linked last.
function pickNode() {
  const want = process.env.TEST_NODE || '24';
  const p = NODES[want] ? join(root, NODES[want]) : want;
  if (!existsSync(p)) {
    console.error(`TEST_NODE=${want}: no node at ${p} (run npm ci)`);
    process.exit(2);
  }
  return p;
}

function testFiles(args) {
  const dirs = args.length > 0 ? args : ['test/unit', 'test/e2e'];
  const files = [];
  for (const d of dirs) {
    const abs = join(root, d);
    if (d.endsWith('.mjs')) files.push(abs);
    else if (existsSync(abs)) for (const f of readdirSync(abs).sort()) if (f.endsWith('.test.mjs')) files.push(join(abs, f));
  }
  return files;
}

const node = pickNode();
const files = testFiles(process.argv.slice(2));
const tmp = mkdtempSync(join(tmpdir(), 'otel-autoinstrument-test-'));
const tap = join(tmp, 'report.tap');
const version = await new Promise((res) => {
  const c = spawn(node, ['--version']);
  let out = '';
  c.stdout.on('data', (d) => (out += d));
  c.on('close', () => res(out.trim()));
});
console.log(`node ${version} (${node}), ${files.length} test files`);

// Two e2e files at a time: each spawns servers and node processes; the machines have 2 cores.
// The timeout (each test, and on Node 22 each file) is a safety net against a hang: tests wait on
// events, and a loaded machine may take minutes for a file.
const child = spawn(
  node,
  ['--test', '--test-concurrency=2', '--test-timeout=300000', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
  { cwd: root, stdio: 'inherit' },
);
const code = await new Promise((res) => child.on('close', (c, sig) => res(c ?? (sig ? 1 : 0))));
const report = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
const count = (k) => Number(report.match(new RegExp(`^# ${k} (\\d+)$`, 'm'))?.[1] ?? 0);
rmSync(tmp, { recursive: true, force: true });
const failed = count('fail') + count('cancelled');
console.log(`${count('pass')} passed, ${failed} failed, ${count('skipped')} skipped`);
process.exit(code !== 0 || failed > 0 ? 1 : 0);
