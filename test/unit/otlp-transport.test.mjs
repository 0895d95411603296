// Our retrying transport goes under every upstream OTLP exporter through private fields
// (_delegate._transport[._transport]): these tests fail when upstream moves them.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { ExportFailure, installResilientTransport, ResilientTransport } from '../../dist/sdk/otlp-transport.js';
import { exportStats, finalLossReport, recordDropped, recordExported, recordFailed, resetExportStats, startLossReports } from '../../dist/sdk/export-stats.js';

const require = createRequire(import.meta.url);

// The transport's backoff timers are unref'd (they must never hold an app alive): something has
// to hold this test process while they run, as the exit flush's timer does in an app.
let hold;
before(() => (hold = setInterval(() => {}, 1000)));
after(() => clearInterval(hold));

for (const signal of ['trace', 'metrics', 'logs']) {
  for (const proto of ['proto', 'http', 'grpc']) {
    const pkg = `@opentelemetry/exporter-${signal}-otlp-${proto}`;
    test(`${pkg}: our transport replaces upstream's retries`, () => {
      const mod = require(pkg);
      const Ctor = mod.OTLPTraceExporter ?? mod.OTLPMetricExporter ?? mod.OTLPLogExporter;
      const exporter = new Ctor({ url: 'http://127.0.0.1:9' });
      assert.equal(installResilientTransport(exporter, proto === 'grpc', () => {}), true);
      assert.ok(exporter._delegate._transport instanceof ResilientTransport);
      exporter.shutdown();
    });
  }
}

const fake = (answers) => {
  const calls = [];
  return { calls, send: async (data, timeout) => (calls.push(timeout), answers.shift() ?? { status: 'success' }), shutdown() {} };
};

test('retryable answers are retried within the timeout; a non-retryable one ends it with a reason', async () => {
  const inner = fake([{ status: 'retryable', error: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }, { status: 'success' }]);
  const ok = await new ResilientTransport(inner, false, () => {}).send(new Uint8Array(), 5000);
  assert.equal(ok.status, 'success');
  assert.equal(inner.calls.length, 2);
  const bad = await new ResilientTransport(fake([{ status: 'failure', error: Object.assign(new Error('Bad Request'), { code: 400 }) }]), false, () => {}).send(new Uint8Array(), 5000);
  assert.ok(bad.error instanceof ExportFailure);
  assert.equal(bad.error.reason, 'HTTP 400');
});

test('a Retry-After longer than the export timeout fails at once and holds back the next export too', async () => {
  const inner = fake([{ status: 'retryable', retryInMillis: 60000 }]);
  const t = new ResilientTransport(inner, false, () => {});
  const t0 = Date.now();
  const r = await t.send(new Uint8Array(), 2000);
  assert.equal(r.status, 'failure');
  assert.match(r.error.reason, /throttled/);
  const next = await t.send(new Uint8Array(), 2000);
  assert.equal(next.status, 'failure');
  assert.equal(inner.calls.length, 1, 'the throttled backend was not called again');
  assert.ok(Date.now() - t0 < 500);
});

test('gRPC: UNAVAILABLE is retried; "Protocol error" is the HTTP/1.1 mix-up, said through the callback', async () => {
  let said = 0;
  const t = new ResilientTransport(fake([{ status: 'failure', error: Object.assign(new Error('14 UNAVAILABLE'), { code: 14, details: 'No connection established. Last error: Protocol error' }) }]), true, () => said++);
  const r = await t.send(new Uint8Array(), 5000);
  assert.equal(r.error.reason, 'wrong protocol (an HTTP/1.1 endpoint)');
  assert.equal(said, 1);
  const inner = fake([{ status: 'failure', error: Object.assign(new Error('14 UNAVAILABLE'), { code: 14, details: 'connect ECONNREFUSED 127.0.0.1:4317' }) }]);
  assert.equal((await new ResilientTransport(inner, true, () => {}).send(new Uint8Array(), 5000)).status, 'success');
  assert.equal(inner.calls.length, 2);
});

test('losses: one warning at the first, then nothing until the summary; the exit line sums the rest', () => {
  resetExportStats();
  const lines = [];
  startLossReports({ warn: (m) => lines.push(m) }, 60000);
  recordExported('traces', 10);
  recordFailed('traces', 5, 'connection refused', 'X');
  for (let i = 0; i < 100; i++) recordFailed('traces', 1, 'connection refused', 'X');
  recordDropped('logs', 7);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^telemetry is being lost: X: export failed \(connection refused\); traces: 5 spans \(connection refused 5\)/);
  finalLossReport();
  assert.equal(lines.length, 2);
  assert.equal(lines[1], 'telemetry lost since the last report, at exit: traces: 100 spans (connection refused 100); logs: 7 log records (queue full 7)');
  const s = exportStats();
  assert.deepEqual(s.traces, { exported: 10, failed: 105, dropped: 0, unknown: 0, failedBy: { 'connection refused': 105 } });
  assert.equal(s.logs.dropped, 7);
  resetExportStats();
});

test('a metrics collection dropped while two are still out: only its delta points count as lost (cumulative points and gauges come again, newer)', async () => {
  const { LazyExporter } = await import('../../dist/sdk/lazy-exporter.js');
  resetExportStats();
  const never = { export() {}, async shutdown() {} };
  const e = new LazyExporter('metrics test', () => never, { warn() {}, debug() {} }, 'metrics', { maxBatches: 2 });
  const batch = (temporality, points) => ({ scopeMetrics: [{ metrics: [{ aggregationTemporality: temporality, dataPoints: Array(points).fill({}) }] }] });
  const results = [];
  for (let i = 0; i < 2; i++) e.export(batch(1, 3), (r) => results.push(r.code));
  e.export(batch(1, 5), (r) => results.push(r.code));
  assert.equal(exportStats().metrics.dropped, 0, 'a cumulative collection left out loses nothing');
  e.export({ scopeMetrics: [{ metrics: [{ aggregationTemporality: 0, dataPoints: [{}, {}] }, { aggregationTemporality: 1, dataPoints: [{}] }] }] }, (r) => results.push(r.code));
  assert.equal(exportStats().metrics.dropped, 2, 'its delta points are lost');
  assert.deepEqual(results, [0, 0, 1, 1]);
  resetExportStats();
});

// upstream's http transport loads node:http with import() at its first export (its default agent
// factory too; ours, unref-agent.ts, requires it), which builds
// node:http's ESM facade and with it loads undici (its lazy WebSocket getters): about 1.5 MiB of
// heap at the first export (issue 19). Ours loads it with require() through a private method
// (otlp-transport.ts, loadUtilsByRequire): this fails when upstream renames it.
test('http/protobuf: the first export loads neither undici nor node:http through import()', async () => {
  const { execFileSync } = await import('node:child_process');
  const script = `
    const http = require('node:http');
    const { installResilientTransport } = require('./dist/sdk/otlp-transport.js');
    const { unrefAgentFactory } = require('./dist/sdk/unref-agent.js');
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
    const server = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end()); }).listen(0, '127.0.0.1', () => {
      const exporter = new OTLPTraceExporter({ url: 'http://127.0.0.1:' + server.address().port + '/v1/traces', httpAgentOptions: unrefAgentFactory({}) });
      const ours = installResilientTransport(exporter, false, () => {});
      exporter._delegate._transport.send(new Uint8Array([10, 0]), 5000).then((r) => {
        console.log(JSON.stringify({ ours, status: r.status, undici: process.moduleLoadList.some((m) => m.includes('undici')) }));
        server.close();
        exporter.shutdown();
      });
    });`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: new URL('../..', import.meta.url), encoding: 'utf8' }).trim());
  assert.deepEqual(out, { ours: true, status: 'success', undici: false });
});
