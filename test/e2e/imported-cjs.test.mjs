// A CommonJS package an ES module imports is patched by require-in-the-middle at its load
// (src/hooks/imported-cjs.ts), not wrapped by import-in-the-middle, where Node has synchronous
// module hooks; import-in-the-middle still wraps it when asked to (OTEL_NODE_IMPORTED_COMMONJS=wrap)
// or when someone else's threaded module hooks are in place.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { APPS, pluginApp, REGISTER, ROOT, runNode } from '../helpers/run.mjs';
import nodeFeatures from '../../dist/node-features.js';

const PROBE = join(ROOT, 'test', 'fixtures', 'loaded-probe.cjs');
const LOADER = join(APPS, 'passthrough-loader.mjs');
const sync = nodeFeatures.has('syncEsmHooks');

let receiver;
let tmp;
before(async () => {
  receiver = await startReceiver();
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'otel-imported-cjs-')));
});
after(async () => {
  await receiver?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
/** Runs express-imported.mjs; resolves with its result, its spans and the files require() loaded. */
async function runExpress(nodeArgs, env = {}) {
  const service = `imported-cjs-${n++}-${Math.random().toString(36).slice(2, 8)}`;
  const out = join(tmp, `${service}.json`);
  const res = await runNode(['--require', PROBE, ...nodeArgs], 'express-imported.mjs', {
    env: { OTEL_SERVICE_NAME: service, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', LOADED_PROBE_OUT: out, ...env },
  });
  const mine = () => receiver.spans().filter((s) => s.resource['service.name'] === service);
  // The server span, and express's request handler span (which ends before it).
  await waitFor(() => mine().some((s) => s.kind === 'SPAN_KIND_SERVER'));
  return { res, spans: mine(), loaded: JSON.parse(readFileSync(out, 'utf8')) };
}

function assertExpressSpans({ res, spans }) {
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stderr, '');
  assert.equal(res.stdout, 'status=200 body={"id":"42"}\n');
  const server = spans.find((s) => s.kind === 'SPAN_KIND_SERVER');
  assert.equal(server.attributes['http.route'], '/users/:id');
  const handler = spans.find((s) => s.scope === '@opentelemetry/instrumentation-express' && s.name === 'request handler');
  assert.ok(handler, spans.map((s) => `${s.scope}:${s.name}`).join(', '));
  assert.equal(handler.traceId, server.traceId);
}

// import-in-the-middle's index.js comes with @opentelemetry/instrumentation; its hooks are these.
const iitmFiles = (loaded) => loaded.filter((f) => /iitm-hook\.js$|import-in-the-middle[\\/](create-hook|hook)/.test(f));

for (const mode of ['import', 'require']) {
  test(`express imported by an ES module under --${mode}: express spans, and import-in-the-middle never loads`, async () => {
    const run = await runExpress(REGISTER[mode]);
    assertExpressSpans(run);
    if (sync) assert.deepEqual(iitmFiles(run.loaded), []);
  });
}

test('OTEL_NODE_IMPORTED_COMMONJS=wrap: import-in-the-middle wraps express, and express spans still come', { skip: !sync && 'no synchronous hooks: import-in-the-middle\'s threaded loader wraps it anyway' }, async () => {
  const run = await runExpress(REGISTER.import, { OTEL_NODE_IMPORTED_COMMONJS: 'wrap' });
  assertExpressSpans(run);
  assert.ok(run.loaded.includes(join(ROOT, 'dist', 'iitm-hook.js')), iitmFiles(run.loaded).join(', '));
});

// Threaded hooks may hand Node a CommonJS file's source, which Node then runs without Module._load.
for (const [where, args] of [
  ['before', ['--import', LOADER, ...REGISTER.import]],
  ['after', [...REGISTER.import, '--import', LOADER]],
]) {
  test(`someone else's module.register() hooks, ${where} ours: import-in-the-middle wraps express, and express spans still come`, { skip: !sync && 'no synchronous hooks' }, async () => {
    const run = await runExpress(args);
    assertExpressSpans(run);
    assert.ok(run.loaded.includes(join(ROOT, 'dist', 'iitm-hook.js')), iitmFiles(run.loaded).join(', '));
  });
}

/** An app whose node_modules holds `pkg` (test/fixtures/plugins), found through its "otel" field. */
const appWith = (pkg, source) => pluginApp(join(tmp, `${pkg}-app`), { name: `${pkg}-app`, plugins: [pkg], files: { 'app.mjs': source } });

const QUIET = { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };

test('an instrumentation that returns new exports: the ES importer gets them, default and named, as require() would', async () => {
  const cwd = appWith('swap-exports', "import mod, { hello } from 'swap-exports';\nconsole.log(`${hello()} ${mod.hello()} swapped=${mod.swapped}`);\n");
  for (const mode of ['import', 'require']) {
    const res = await runNode(REGISTER[mode], 'app.mjs', { cwd, env: QUIET });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
    assert.equal(res.stdout, 'hi (patched) hi (patched) swapped=true\n', mode);
  }
});

// Node runs it as an ES module, not through Module._load: left to require-in-the-middle, it would
// never be patched.
test('ES syntax in a .js main without "type": import-in-the-middle wraps it, and it is patched', { skip: !sync && 'no synchronous hooks' }, async () => {
  const cwd = appWith('esm-in-js', "import { hello } from 'esm-in-js';\nconsole.log(hello());\n");
  for (const mode of ['import', 'require']) {
    const res = await runNode(REGISTER[mode], 'app.mjs', { cwd, env: QUIET });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'hi (patched)\n', mode);
  }
});
