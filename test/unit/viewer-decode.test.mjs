// The viewer's receiver decodes what the real upstream OTLP exporters send: http/protobuf and
// http/json, plain and gzip, for traces, metrics and logs.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { context, trace, SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { startViewer } from '../../dist/viewer/server.js';
import { waitFor } from '../helpers/otlp.mjs';

const require = createRequire(import.meta.url);
let viewer;
before(async () => (viewer = await startViewer({ port: 0 })));
after(() => viewer.close());

const exporter = (signal, proto, compression) => {
  const mod = require(`@opentelemetry/exporter-${signal}-otlp-${proto}`);
  const Ctor = mod.OTLPTraceExporter ?? mod.OTLPMetricExporter ?? mod.OTLPLogExporter;
  const path = { trace: 'traces', metrics: 'metrics', logs: 'logs' }[signal];
  return new Ctor({ url: `${viewer.url}v1/${path}`, compression });
};

for (const proto of ['proto', 'http']) {
  for (const compression of ['none', 'gzip']) {
    const service = `decode-${proto}-${compression}`;
    const resource = resourceFromAttributes({ 'service.name': service, 'deployment.environment.name': 'test' });

    test(`traces over ${proto === 'proto' ? 'http/protobuf' : 'http/json'}, compression ${compression}`, async () => {
      const provider = new TracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor({ exporter: exporter('trace', proto, compression) })] });
      const tracer = provider.getTracer('decode-test', '1.2.3');
      const other = tracer.startSpan('other');
      other.end();
      const root = tracer.startSpan('GET /users/:id', { kind: 1, attributes: { 'http.route': '/users/:id', 'http.response.status_code': 500, ratio: 0.25, ok: false, tags: ['a', 'b'], big: 2 ** 40 + 1, neg: -7 } });
      const child = tracer.startSpan('child', { links: [{ context: other.spanContext(), attributes: { why: 'retry' } }] }, trace.setSpan(context.active(), root));
      child.addEvent('cache miss', { key: 'user:42' });
      child.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
      child.end();
      root.end();
      await provider.forceFlush();
      const spans = viewer.store.trace(root.spanContext().traceId);
      assert.ok(spans, 'trace received');
      assert.equal(spans.length, 2);
      const r = spans.find((s) => s.name === 'GET /users/:id');
      const c = spans.find((s) => s.name === 'child');
      assert.equal(r.spanId, root.spanContext().spanId);
      assert.equal(r.parentSpanId, '');
      assert.equal(r.kind, 'server');
      assert.deepEqual(r.attributes, { 'http.route': '/users/:id', 'http.response.status_code': 500, ratio: 0.25, ok: false, tags: ['a', 'b'], big: 2 ** 40 + 1, neg: -7 });
      assert.equal(r.service, service);
      assert.equal(r.resource['deployment.environment.name'], 'test');
      assert.equal(r.scope, 'decode-test');
      assert.ok(r.endMs >= r.startMs && Math.abs(r.startMs - Date.now()) < 60_000, `${r.startMs}`);
      assert.equal(c.parentSpanId, r.spanId);
      assert.deepEqual(c.status, { code: 'error', message: 'boom' });
      assert.deepEqual(c.events.map((e) => [e.name, e.attributes]), [['cache miss', { key: 'user:42' }]]);
      assert.deepEqual(c.links, [{ traceId: other.spanContext().traceId, spanId: other.spanContext().spanId, attributes: { why: 'retry' } }]);
      const [summary] = viewer.store.listTraces({ service }).filter((t) => t.traceId === root.spanContext().traceId);
      assert.deepEqual([summary.rootName, summary.spanCount, summary.error], ['GET /users/:id', 2, true]);
      await provider.shutdown();
    });

    test(`metrics over ${proto}, compression ${compression}`, async () => {
      const reader = new PeriodicExportingMetricReader({ exporter: exporter('metrics', proto, compression), exportIntervalMillis: 3_600_000 });
      const provider = new MeterProvider({ resource, readers: [reader] });
      const meter = provider.getMeter('decode-test');
      meter.createCounter('jobs.done', { unit: '{job}', description: 'jobs' }).add(3, { queue: 'a' });
      meter.createHistogram('job.duration', { unit: 's' }).record(0.5);
      meter.createHistogram('job.duration', { unit: 's' }).record(1.5);
      meter.createGauge('temp').record(-2.5);
      meter.createUpDownCounter('inflight').add(-4);
      await provider.forceFlush();
      const mine = viewer.store.listMetrics().filter((m) => m.service === service);
      const by = Object.fromEntries(mine.map((m) => [m.name, m]));
      assert.deepEqual(Object.keys(by).sort(), ['inflight', 'job.duration', 'jobs.done', 'temp']);
      assert.deepEqual([by['jobs.done'].type, by['jobs.done'].monotonic, by['jobs.done'].unit, by['jobs.done'].description], ['sum', true, '{job}', 'jobs']);
      assert.deepEqual(by['jobs.done'].series.map((s) => [s.attributes, s.points.at(-1).value]), [[{ queue: 'a' }, 3]]);
      assert.equal(by.inflight.series[0].points.at(-1).value, -4);
      assert.equal(by.temp.type, 'gauge');
      assert.equal(by.temp.series[0].points.at(-1).value, -2.5);
      const h = by['job.duration'].series[0].points.at(-1);
      assert.deepEqual([by['job.duration'].type, h.count, h.sum, h.min, h.max, h.value], ['histogram', 2, 2, 0.5, 1.5, 1]);
      await provider.shutdown();
    });

    test(`logs over ${proto}, compression ${compression}`, async () => {
      const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: exporter('logs', proto, compression) })] });
      const tracer = new TracerProvider().getTracer('t');
      const span = tracer.startSpan('s');
      provider.getLogger('decode-test').emit({ body: 'user 42 not found', severityNumber: 13, severityText: 'WARN', attributes: { user: 42 }, context: trace.setSpan(context.active(), span) });
      // The simple log processor's forceFlush does not wait for the export it started: wait for the record.
      await provider.forceFlush();
      const [log] = await waitFor(() => viewer.store.listLogs({ service }).length > 0 && viewer.store.listLogs({ service }));
      assert.ok(log, 'log received');
      assert.deepEqual([log.body, log.severityNumber, log.severityText, log.attributes], ['user 42 not found', 13, 'WARN', { user: 42 }]);
      assert.equal(log.traceId, span.spanContext().traceId);
      assert.equal(log.spanId, span.spanContext().spanId);
      await provider.shutdown();
    });
  }
}
