// Self-metrics (OTEL_NODE_SELF_METRICS_ENABLED): the semantic conventions' SDK exporter metrics and
// our autoinstrument.* ones, on scope otel-autoinstrument/self, received by a real OTLP decoder.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startReceiver } from '../helpers/otlp.mjs';
import { REGISTER, ROOT, runNode } from '../helpers/run.mjs';

const APP = join(ROOT, 'test', 'fixtures', 'doctor', 'self-metrics-app.cjs');
const FAST = { OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_METRIC_EXPORT_INTERVAL: '300', OTEL_LOGS_EXPORTER: 'none', OTEL_NODE_RUNTIME_METRICS: 'none', OTEL_NODE_RESOURCE_DETECTORS: 'none' };

let receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver?.close());

/** The data points of `name` in the last export that has it, from our self scope. */
function points(name) {
  for (const m of [...receiver.metrics].reverse())
    for (const rm of m.resourceMetrics ?? [])
      for (const sm of rm.scopeMetrics ?? []) {
        if (sm.scope?.name !== 'otel-autoinstrument/self') continue;
        const metric = (sm.metrics ?? []).find((x) => x.name === name);
        if (metric) return { metric, points: (metric.sum ?? metric.histogram ?? metric.gauge).dataPoints };
      }
  return undefined;
}
const value = (p) => Number(p.asInt ?? p.asDouble ?? p.count);

test('enabled: spans exported, export duration, instrumentations active, nothing dropped', async () => {
  receiver.clear();
  const res = await runNode(REGISTER.require, APP, { env: { ...FAST, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_NODE_SELF_METRICS_ENABLED: 'true' } });
  assert.equal(res.code, 0);
  assert.equal(res.stderr, '');
  const spans = points('otel.sdk.exporter.span.exported');
  assert.ok(spans, [...receiver.metricNames()].join(', '));
  assert.equal(spans.metric.unit, '{span}');
  const ok = spans.points.find((p) => !p.attributes?.['error.type']);
  // What the counter says is what the receiver got.
  assert.equal(value(ok), receiver.spans().length);
  assert.ok(value(ok) >= 2);
  assert.ok(points('otel.sdk.exporter.metric_data_point.exported'));
  // Logs are not exported: no zero series for them.
  assert.equal(points('otel.sdk.exporter.log.exported'), undefined);
  const duration = points('otel.sdk.exporter.operation.duration');
  assert.equal(duration.metric.unit, 's');
  assert.ok(duration.points.some((p) => p.attributes?.['autoinstrument.signal'] === 'traces' && Number(p.count) >= 1));
  const active = points('autoinstrument.instrumentations.active');
  assert.ok(value(active.points[0]) >= 1);
  const dropped = points('autoinstrument.exporter.dropped');
  assert.deepEqual(dropped.points.map((p) => [p.attributes['autoinstrument.signal'], value(p)]).sort(), [['metrics', 0], ['traces', 0]]);
});

test('failed exports carry error.type, the reason of the failure', async () => {
  const probe = createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const closed = `http://127.0.0.1:${probe.address().port}/v1/traces`;
  await new Promise((r) => probe.close(r));
  receiver.clear();
  const res = await runNode(REGISTER.require, APP, {
    args: ['1500'],
    env: { ...FAST, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: closed, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '300', OTEL_NODE_SELF_METRICS_ENABLED: 'true', OTEL_LOG_LEVEL: 'none' },
  });
  assert.equal(res.code, 0);
  const spans = points('otel.sdk.exporter.span.exported');
  assert.ok(spans, [...receiver.metricNames()].join(', '));
  const failed = spans.points.find((p) => p.attributes?.['error.type'] !== undefined);
  assert.ok(failed, JSON.stringify(spans.points));
  assert.match(failed.attributes['error.type'], /^(connection_refused|timeout)/);
  assert.ok(value(failed) >= 2);
  assert.ok(points('otel.sdk.exporter.operation.duration').points.some((p) => p.attributes?.['error.type'] === failed.attributes['error.type']));
});

test('off by default: no otel.sdk.* or autoinstrument.exporter.* metric', async () => {
  receiver.clear();
  const res = await runNode(REGISTER.require, APP, { args: ['700'], env: { ...FAST, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl } });
  assert.equal(res.code, 0);
  const names = [...receiver.metricNames()];
  assert.ok(names.length > 0, 'some metrics arrive (http.server.request.duration)');
  assert.deepEqual(names.filter((n) => n.startsWith('otel.sdk.') || n.startsWith('autoinstrument.exporter') || n.startsWith('autoinstrument.instrumentations')), []);
});
