// The exit-time send reads the spans still queued in the SDK's BatchSpanProcessor through its
// private `_finishedSpans` (src/sdk/exit-send.ts): this fails when upstream moves that field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { queuedSpans } from '../../dist/sdk/exit-send.js';

test("a BatchSpanProcessor's queued spans are readable at exit", async () => {
  const exported = [];
  const exporter = { export: (spans, done) => (exported.push(...spans), done({ code: 0 })), shutdown: async () => {} };
  const processor = new BatchSpanProcessor({ exporter, scheduledDelayMillis: 60_000 });
  const provider = new TracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('t');
  tracer.startSpan('one').end();
  tracer.startSpan('two').end();
  assert.deepEqual(queuedSpans(processor).map((s) => s.name), ['one', 'two']);
  await provider.forceFlush();
  assert.deepEqual(queuedSpans(processor), [], 'exported spans leave the queue');
  assert.equal(exported.length, 2);
  await provider.shutdown();
});
