// What the register hook does before the app's first line: Node's compile cache (a private
// directory, never a failure) and nothing at all under OTEL_SDK_DISABLED=true.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REGISTER, ROOT, runNode } from '../helpers/run.mjs';
import nodeFeatures from '../../dist/node-features.js';

const { has } = nodeFeatures;

const APP = 'print-node-options.cjs';
const work = mkdtempSync(join(tmpdir(), 'otel-startup-path-'));
after(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
/** A fresh TMPDIR, so the default cache directory is this test's own. */
const freshTmp = () => {
  const d = join(work, `tmp${n++}`);
  mkdirSync(d);
  return d;
};
const cacheDir = (tmp) => join(tmp, `otel-autoinstrument-compile-cache-${process.getuid()}`);
const quiet = { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };

for (const mode of ['require', 'import']) {
  test(`--${mode}: the compile cache is on by default, in a directory of this user's alone under the temp dir`, async () => {
    const tmp = freshTmp();
    const res = await runNode(REGISTER[mode], APP, { env: { ...quiet, TMPDIR: tmp, OTEL_LOG_LEVEL: 'debug' } });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, new RegExp(`debug: compile cache: enabled at ${cacheDir(tmp)}\\n`));
    const st = statSync(cacheDir(tmp));
    assert.equal(st.mode & 0o777, 0o700);
    // Node writes its entries at exit, under a per-version directory.
    const [versionDir] = readdirSync(cacheDir(tmp));
    assert.ok(versionDir?.startsWith(`v${process.versions.node}-`), String(versionDir));
    assert.ok(readdirSync(join(cacheDir(tmp), versionDir)).length > 0, 'cache entries written');
  });
}

test('a default cache directory that others can write is not used, silently', async () => {
  const tmp = freshTmp();
  mkdirSync(cacheDir(tmp));
  chmodSync(cacheDir(tmp), 0o777);
  const res = await runNode(REGISTER.require, APP, { env: { ...quiet, TMPDIR: tmp } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stderr, '');
  assert.deepEqual(readdirSync(cacheDir(tmp)), []);
  const dbg = await runNode(REGISTER.require, APP, { env: { ...quiet, TMPDIR: tmp, OTEL_LOG_LEVEL: 'debug' } });
  assert.match(dbg.stderr, /debug: compile cache: off: .* is not a directory of this user's alone/);
});

test('OTEL_NODE_COMPILE_CACHE: a directory of the user\'s, `none`, and one that cannot be written change nothing else', async () => {
  const mine = join(work, 'mine');
  const res = await runNode(REGISTER.require, APP, { env: { ...quiet, OTEL_NODE_COMPILE_CACHE: mine } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stderr, '');
  assert.ok(readdirSync(mine).length > 0);

  const tmp = freshTmp();
  const off = await runNode(REGISTER.import, APP, { env: { ...quiet, TMPDIR: tmp, OTEL_NODE_COMPILE_CACHE: 'none' } });
  assert.equal(off.code, 0, off.stderr);
  assert.equal(existsSync(cacheDir(tmp)), false);

  // A file, not a directory; and (Linux) /proc, where Node's own recursive mkdir never returns.
  const file = join(work, 'a-file');
  writeFileSync(file, '');
  const bad = [join(file, 'cache'), 'relative-cache', ...(existsSync('/proc/self') ? ['/proc/otel-nope', '/proc'] : [])];
  for (const dir of bad) {
    const r = await runNode(REGISTER.require, APP, { env: { ...quiet, OTEL_NODE_COMPILE_CACHE: dir, OTEL_LOG_LEVEL: 'debug' }, timeoutMs: 20000 });
    assert.equal(r.code, 0, `${dir}: ${r.stderr}`);
    assert.match(r.stderr, /debug: compile cache: off: /, dir);
    assert.doesNotMatch(r.stderr, /warning|error/, dir);
  }
  assert.equal(existsSync(join(ROOT, 'test/fixtures/apps/relative-cache')), false, 'nothing made in the app\'s directory');
});

test('OTEL_SDK_DISABLED=true in the environment: none of dist/ is loaded, no cache directory is made', async () => {
  const tmp = freshTmp();
  const out = join(work, 'loaded.json');
  const res = await runNode(['--require', join(ROOT, 'test/fixtures/loaded-probe.cjs'), ...REGISTER.require], APP, {
    env: { TMPDIR: tmp, OTEL_SDK_DISABLED: ' True ', LOADED_PROBE_OUT: out },
  });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stderr, '');
  const files = JSON.parse(readFileSync(out, 'utf8'));
  assert.ok(files.some((f) => f.endsWith('register/load.cjs')), 'the probe sees the register hook');
  assert.deepEqual(files.filter((f) => f.includes(`${ROOT}/dist/`)), []);
  assert.equal(existsSync(cacheDir(tmp)), false);
});

test('start() from code turns the compile cache on too, for what loads after it', async () => {
  const tmp = freshTmp();
  const res = await runNode(['-e'], "require('otel-autoinstrument').start({ nodeCompileCache: process.env.CC_DIR }); require('express')", {
    env: { ...quiet, TMPDIR: tmp, CC_DIR: join(tmp, 'from-code'), OTEL_LOG_LEVEL: 'debug' },
  });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /debug: compile cache: enabled at .*from-code\n/);
  assert.ok(readdirSync(join(tmp, 'from-code')).length > 0);
});

test('a process that is not instrumented (a package manager) gets no compile cache', async () => {
  const tmp = freshTmp();
  const res = await runNode(REGISTER.require, 'tools/npm-cli.js', { env: { ...quiet, TMPDIR: tmp } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(existsSync(cacheDir(tmp)), false);
});

// src/hooks/require-filter.ts: only requires that can reach a watched module go through
// upstream's require-in-the-middle hook; a name an app registers there itself is watched too.
test('--require: the require filter is in front of require-in-the-middle once a watched module is required, and an app\'s own instrumentation of a module we do not list still patches it', async () => {
  const res = await runNode(REGISTER.require, 'own-instrumentation-app.cjs', { env: { ...quiet, OTEL_LOG_LEVEL: 'debug' } });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /debug: require hook: primed; only requires that can reach a module some instrumentation targets go through require-in-the-middle\n/);
  assert.doesNotMatch(res.stderr, /warning|error/);
  assert.equal(res.stdout, 'patched=true\n');
});

// A process that never requires a watched module loads neither upstream's require hook nor the API.
test('--require and --import: node -e 0 loads no @opentelemetry package and no import-in-the-middle', async () => {
  for (const mode of ['require', 'import']) {
    const res = await runNode(REGISTER[mode], '-e', { args: ['console.log(Object.keys(require.cache).filter((f) => /node_modules.(@opentelemetry|import-in-the-middle|require-in-the-middle)/.test(f)).length)'], env: quiet });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, '0\n', mode);
  }
});

// The multiprocess hub (src/multiprocess/needed.ts) waits for the app's first load of
// worker_threads, child_process or cluster, or the warm-up; the marker its children inherit is
// then in place before the app's next line, however the builtin was loaded.
test('--require and --import: the multiprocess hub is made at the first load of worker_threads, child_process or cluster, not at preload', async () => {
  const metrics = { OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_NODE_WARMUP_DELAY: '600000' };
  const marker = 'process.env.OTEL_NODE_MULTIPROCESS_PARENT === String(process.pid)';
  const loads = {
    'require worker_threads': "require('node:worker_threads')",
    'require child_process': "require('child_process')",
    'require cluster': "require('cluster')",
    'process.getBuiltinModule': "process.getBuiltinModule('node:child_process')",
  };
  for (const mode of ['require', 'import']) {
    for (const [how, load] of Object.entries(loads)) {
      const code = `const before = [${marker}, process.moduleLoadList.includes('NativeModule worker_threads')]; ${load}; console.log(JSON.stringify([...before, ${marker}]))`;
      const res = await runNode(REGISTER[mode], '-e', { args: [code], env: metrics });
      assert.equal(res.code, 0, res.stderr);
      // Before Node's synchronous ESM hooks, module.register()'s hooks thread loads worker_threads
      // at startup (after the hub's check): the app's own load still makes the hub.
      const expected = has('syncEsmHooks') ? '[false,false,true]' : '[false,true,true]';
      assert.equal(res.stdout, `${expected}\n`, `${mode}, ${how}: no hub and no worker_threads before, the hub after`);
    }
  }
  // An ES import resolves through the same hook.
  const dir = mkdtempSync(join(work, 'esm-'));
  writeFileSync(join(dir, 'app.mjs'), `import 'node:worker_threads';\nconsole.log(${marker});\n`);
  const res = await runNode(REGISTER.import, join(dir, 'app.mjs'), { env: metrics });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, 'true\n');
});

test('the multiprocess hub is made at the warm-up in a process that never loads those builtins', async () => {
  const res = await runNode(REGISTER.require, '-e', {
    args: ['setTimeout(() => console.log(process.env.OTEL_NODE_MULTIPROCESS_PARENT === String(process.pid)), 300)'],
    env: { OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'console', OTEL_METRIC_EXPORT_INTERVAL: '600000', OTEL_NODE_WARMUP_DELAY: '50' },
  });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^true$/m);
});

// src/bundle-cache.ts: our bundle's own V8 code cache, in the default cache directory once an
// instrumented start has made it, written after an instrumented start, used by the next.
const bundleCaches = (tmp) => readdirSync(cacheDir(tmp)).filter((f) => /^bundle-.*\.v8$/.test(f));
const bundleStatus = (stderr) => /debug: bundle code cache: (\w+(?: \w+)*)/.exec(stderr)?.[1];

test('--require and --import: the bundle\'s code cache is written after an instrumented start and used by the next; a bad one is replaced', async () => {
  for (const mode of ['require', 'import']) {
    const tmp = freshTmp();
    const run = () => runNode(REGISTER[mode], APP, { env: { ...quiet, TMPDIR: tmp, OTEL_LOG_LEVEL: 'debug' } });
    let res = await run();
    assert.equal(res.code, 0, res.stderr);
    assert.equal(bundleStatus(res.stderr), 'not used', 'no directory before the first instrumented start');
    assert.deepEqual(bundleCaches(tmp), []);
    res = await run();
    assert.equal(bundleStatus(res.stderr), 'none yet');
    const [name] = bundleCaches(tmp);
    assert.match(name ?? '', new RegExp(`^bundle-${process.versions.node}-${process.arch}-[0-9a-f]{16}\\.v8$`));
    assert.equal(statSync(join(cacheDir(tmp), name)).mode & 0o777, 0o600);
    res = await run();
    assert.equal(res.code, 0, res.stderr);
    assert.equal(bundleStatus(res.stderr), 'accepted', mode);
    assert.equal(res.stdout, `NODE_OPTIONS=undefined\n`);

    writeFileSync(join(cacheDir(tmp), name), 'not a code cache');
    res = await run();
    assert.equal(res.code, 0, res.stderr);
    assert.equal(bundleStatus(res.stderr), 'rejected');
    assert.doesNotMatch(res.stderr, /warning|error/);
    res = await run();
    assert.equal(bundleStatus(res.stderr), 'accepted', 'rewritten after the rejected one');
  }
});

test('the bundle\'s code cache: not written by a process that is not instrumented, nor with OTEL_NODE_COMPILE_CACHE set, nor in a directory others can write', async () => {
  const tmp = freshTmp();
  await runNode(REGISTER.require, APP, { env: { ...quiet, TMPDIR: tmp } });
  assert.ok(existsSync(cacheDir(tmp)), 'an instrumented start made the directory');
  const npm = await runNode(REGISTER.require, 'tools/npm-cli.js', { env: { ...quiet, TMPDIR: tmp } });
  assert.equal(npm.code, 0, npm.stderr);
  assert.deepEqual(bundleCaches(tmp), [], 'a package manager writes none');
  for (const value of ['none', join(tmp, 'chosen')]) {
    const res = await runNode(REGISTER.require, APP, { env: { ...quiet, TMPDIR: tmp, OTEL_NODE_COMPILE_CACHE: value, OTEL_LOG_LEVEL: 'debug' } });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(bundleStatus(res.stderr), 'not used', value);
  }
  assert.deepEqual(bundleCaches(tmp), []);
  chmodSync(cacheDir(tmp), 0o777);
  const open = await runNode(REGISTER.require, APP, { env: { ...quiet, TMPDIR: tmp, OTEL_LOG_LEVEL: 'debug' } });
  assert.equal(bundleStatus(open.stderr), 'not used');
  assert.deepEqual(bundleCaches(tmp), []);
});

// src/hooks/require-filter.ts (DEFERRED_BUILTINS): the net instrumentation's tls is loaded at its
// first use, a connect, not when the instrumentation loads.
test('--require and --import: the net instrumentation does not load tls at start; a TLS connect still gets its tls.connect span', async () => {
  for (const mode of ['require', 'import']) {
    const env = { OTEL_TRACES_EXPORTER: 'console', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_LOG_LEVEL: 'debug' };
    const res = await runNode(REGISTER[mode], 'tls-later-app.cjs', { env });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /info: applied @opentelemetry\/instrumentation-net@\S+ to net/, mode);
    assert.match(res.stdout, /^tls loaded: false$/m, mode);
    const conn = await runNode(REGISTER[mode], 'tls-later-app.cjs', { env, args: ['connect'] });
    assert.equal(conn.code, 0, conn.stderr);
    assert.match(conn.stdout, /name: 'tls\.connect'/, mode);
    assert.match(conn.stdout, /name: 'tcp\.connect'/, mode);
  }
});
