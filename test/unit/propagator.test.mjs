// buildPropagator (src/sdk/propagator.ts) against core's CompositePropagator over the same
// propagators: the same extracted context, injected headers and fields; a propagator that throws is
// skipped with a warning and the others still run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as api from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { buildPropagator } from '../../dist/sdk/propagator.js';

const thrower = {
  inject() {
    throw new Error('inject boom');
  },
  extract() {
    throw new Error('extract boom');
  },
  fields: () => ['x-thrower', 'traceparent'],
};
const headers = {
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  tracestate: 'a=1',
  baggage: 'k=v',
  b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1',
};

test('the same as core\'s CompositePropagator, a throwing propagator skipped with a warning', () => {
  const ours = buildPropagator({ OTEL_PROPAGATORS: ['tracecontext', 'baggage', 'b3multi'] }, [thrower]);
  const theirs = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }), thrower] });
  const warnings = [];
  api.diag.setLogger({ warn: (m) => warnings.push(m), error() {}, info() {}, debug() {}, verbose() {} }, api.DiagLogLevel.WARN);
  try {
    for (const h of [headers, { b3: headers.b3 }, {}]) {
      const a = ours.extract(api.ROOT_CONTEXT, h, api.defaultTextMapGetter);
      const b = theirs.extract(api.ROOT_CONTEXT, h, api.defaultTextMapGetter);
      assert.deepEqual(api.trace.getSpanContext(a), api.trace.getSpanContext(b));
      assert.deepEqual(api.propagation.getBaggage(a)?.getAllEntries(), api.propagation.getBaggage(b)?.getAllEntries());
      const outA = {};
      const outB = {};
      ours.inject(a, outA, api.defaultTextMapSetter);
      theirs.inject(b, outB, api.defaultTextMapSetter);
      assert.deepEqual(outA, outB);
    }
    assert.deepEqual(ours.fields(), theirs.fields());
    const mine = warnings.filter((_, i) => i % 2 === 0);
    assert.ok(warnings.length === 12 && mine.every((m, i) => m === warnings[2 * i + 1]), `the same warnings, in pairs: ${warnings.join(' | ')}`);
    assert.match(warnings[0], /Failed to extract with Object\. Err: extract boom/);
  } finally {
    api.diag.disable();
  }
});

test('none alone: no propagator', () => {
  assert.equal(buildPropagator({ OTEL_PROPAGATORS: ['none'] }), undefined);
});
