// The upstream bundle (dist/vendor.js, src/hooks/vendor.ts): the packages we load get
// @opentelemetry/api, core, semantic-conventions and instrumentation from it, the app's own
// require() gets Node's copy, and OTEL_NODE_UPSTREAM_BUNDLE=false turns it off.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REGISTER, runNode } from '../helpers/run.mjs';

const quiet = { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };
const APP = 'upstream-bundle-app.cjs';

const run = async (mode, env = {}) => {
  const res = await runNode(REGISTER[mode], APP, { env: { ...quiet, OTEL_LOG_LEVEL: 'debug', ...env } });
  assert.equal(res.code, 0, res.stderr);
  assert.doesNotMatch(res.stderr, /: (warn|error):/);
  return { out: JSON.parse(res.stdout.trim().split('\n').at(-1)), stderr: res.stderr };
};

for (const mode of ['require', 'import']) {
  test(`--${mode}: the instrumentations get upstream's packages from the bundle, the app's own require gets Node's copy`, async () => {
    const { out, stderr } = await run(mode);
    assert.match(stderr, /loaded @opentelemetry\/instrumentation-express@/);
    assert.match(stderr, /require hook: primed/);
    assert.equal(out.vendorLoaded, true);
    // Served: none of the ~100 files of the four packages was loaded for the instrumentations.
    assert.deepEqual(out.realBefore, []);
    assert.equal(out.appGetsNodes, true);
    assert.equal(out.appGetsVendored, false);
    // Our SDK's provider, registered through the bundle's API, is what the app's copy sees.
    assert.notEqual(out.delegate, undefined);
    assert.notEqual(out.delegate, 'NoopTracerProvider');
  });
}

test('OTEL_NODE_UPSTREAM_BUNDLE=false: every copy comes from Node', async () => {
  const { out } = await run('require', { OTEL_NODE_UPSTREAM_BUNDLE: 'false' });
  assert.equal(out.vendorLoaded, false);
  for (const p of ['api', 'core', 'semantic-conventions', 'instrumentation']) assert.ok(out.realBefore.some((f) => f.startsWith(`@opentelemetry/${p}/`)), p);
  assert.equal(out.appGetsNodes, true);
  assert.notEqual(out.delegate, 'NoopTracerProvider');
});

test('the bundle keeps a code cache of its own in the default cache directory: written by the first start, used by the next', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'otel-upstream-bundle-'));
  try {
    const first = await run('require', { TMPDIR: tmp });
    assert.match(first.stderr, /debug: upstream bundle loaded; its code cache: none yet \(.*vendor-[^)]*\.v8\)/);
    const second = await run('require', { TMPDIR: tmp });
    assert.match(second.stderr, /debug: upstream bundle loaded; its code cache: accepted \(/);
    // A directory of the user's choice: Node's compile cache alone, as for our own bundle.
    const chosen = await run('require', { TMPDIR: tmp, OTEL_NODE_COMPILE_CACHE: join(tmp, 'mine') });
    assert.match(chosen.stderr, /debug: upstream bundle loaded; its code cache: not used\n/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('--require and --import: node -e 0 does not load the bundle', async () => {
  for (const mode of ['require', 'import']) {
    const res = await runNode(REGISTER[mode], '-e', { args: ["console.log(Object.keys(require.cache).filter((f) => f.endsWith('vendor.js')).length)"], env: quiet });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), '0', mode);
  }
});
