// The startup report: quiet by default, one block and a line per module at an explicit
// OTEL_LOG_LEVEL=info, and always on the handle at runtime.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { REGISTER, ROOT, runNode } from '../helpers/run.mjs';

const UNSUPPORTED = join(ROOT, 'test', 'fixtures', 'doctor', 'unsupported');
const QUIET = { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };

test('OTEL_LOG_LEVEL left at its default: nothing on stderr', async () => {
  const res = await runNode(REGISTER.import, 'express-app.mjs', { env: QUIET });
  assert.equal(res.stdout, 'status=200 body={"id":"42"}\n');
  assert.equal(res.stderr, '');
});

test('OTEL_LOG_LEVEL=info set: the block, then one line per module patched as it loads', async () => {
  const res = await runNode(REGISTER.import, 'express-app.mjs', { env: { ...QUIET, OTEL_LOG_LEVEL: 'info', OTEL_SERVICE_NAME: 'shop' } });
  assert.equal(res.stdout, 'status=200 body={"id":"42"}\n');
  const lines = res.stderr.trimEnd().split('\n');
  assert.match(lines[0], /^otel-autoinstrument: info: otel-autoinstrument [\d.]+ on Node [\d.]+, --import register hook; ES modules: import-in-the-middle (synchronous hooks|threaded loader); CommonJS: require-in-the-middle$/);
  assert.match(lines[1], /^otel-autoinstrument: info: config \(not defaults\): .*OTEL_SERVICE_NAME=shop \(env\)/);
  assert.match(lines[2], /^otel-autoinstrument: info: instrumentations: \d+ waiting for their modules/);
  assert.match(res.stderr, /info: applied @opentelemetry\/instrumentation-express@[\d.]+ to express@5\.3\.0; layers: instrumentation-express with our per-request layer patch \(lean\)\n/);
  assert.match(res.stderr, /info: applied @opentelemetry\/instrumentation-http@[\d.]+ to http; incoming requests: diagnostics_channel http\.server\.request\.start \(ours\); outgoing: instrumentation-http\n/);
  // Only info lines: no warning, and nothing else.
  assert.ok(lines.every((l) => l.startsWith('otel-autoinstrument: info: ')), res.stderr);
});

test('an unsupported version is a "skipped" line with the reason', async () => {
  const res = await runNode(['--require', join(ROOT, 'register', 'index.cjs')], 'app.cjs', { cwd: UNSUPPORTED, env: { ...QUIET, OTEL_LOG_LEVEL: 'info' } });
  assert.match(res.stderr, /info: skipped @opentelemetry\/instrumentation-pg@[\d.]+: pg 7\.0\.0 is outside @opentelemetry\/instrumentation-pg [\d.]+'s supported range >=8/);
  assert.doesNotMatch(res.stderr, /applied @opentelemetry\/instrumentation-pg/);
});

test('handle.report() at runtime: entry, hooks, applied and skipped instrumentations, redacted config', async () => {
  const res = await runNode(['--require', join(ROOT, 'register', 'index.cjs')], 'report-app.cjs', { cwd: UNSUPPORTED, env: { ...QUIET, OTEL_EXPORTER_OTLP_HEADERS: 'api-key=secret123' } });
  assert.equal(res.stderr, '');
  const r = JSON.parse(res.stdout);
  assert.equal(r.entry, 'require');
  assert.match(r.esm, /^(sync|threaded)$/);
  assert.equal(r.main.esm, false);
  assert.equal(r.node, process.versions.node);
  assert.equal(r.pg.status, 'skipped');
  assert.match(r.pg.reason, /pg 7\.0\.0 is outside/);
  assert.deepEqual(r.pg.patched, []);
  assert.equal(r.http.status, 'applied');
  assert.deepEqual(r.http.patched, [{ module: 'http' }]);
  assert.match(r.http.detail, /^incoming requests: diagnostics_channel/);
  assert.equal(r.express.status, 'waiting');
  assert.equal(r.config.length, 1);
  assert.doesNotMatch(r.config[0], /secret123/);
  assert.deepEqual(Object.keys(r.exports), ['traces', 'metrics', 'logs']);
});
