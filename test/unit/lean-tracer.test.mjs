// Our tracer (src/trace, OTEL_NODE_TRACER=lean) against upstream's SDK TracerProvider, in process:
// the same calls through both must give the same spans to processors (ids and times aside), and
// the lean path's own promises hold: the sampler first, cheap unsampled spans, contained throws.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { getRPCMetadata, RPCType, suppressTracing, W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import * as sdk from '@opentelemetry/sdk-trace';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { LeanTracerProvider } from '../../dist/trace/tracer.js';
import { lazyTracerProvider } from '../../dist/trace/facade.js';
import { buildSampler } from '../../dist/sdk/sampler.js';
import { spanLimits } from '../../dist/sdk/sdk-options.js';
import { guardProcessor } from '../../dist/sdk/guard-processor.js';
import { spanId, traceId } from '../../dist/trace/ids.js';
import { RPC_METADATA_KEY, SPAN_KEY, withValue } from '../../dist/trace/context.js';
import { OwnedAttributes } from '../../dist/trace/owned.js';

api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const resource = resourceFromAttributes({ 'service.name': 'lean-test' });
const LIMITS = spanLimits({});

/** Both providers over the same options; each with its own in-memory exporter. */
function pair({ sampler = () => new sdk.AlwaysOnSampler(), limits = LIMITS, extra = () => [] } = {}) {
  const make = (kind) => {
    const exporter = new sdk.InMemorySpanExporter();
    const spanProcessors = [...extra(), new sdk.SimpleSpanProcessor({ exporter })];
    const warnings = [];
    const provider =
      kind === 'sdk'
        ? new sdk.TracerProvider({ sampler: sampler(), spanProcessors, spanLimits: limits, resource })
        : new LeanTracerProvider({ api, sampler: sampler(), spanProcessors, spanLimits: limits, resource, warn: (m) => warnings.push(m) });
    return { provider, exporter, warnings, spans: () => exporter.getFinishedSpans() };
  };
  return { sdk: make('sdk'), lean: make('lean') };
}

/** A span as an export shows it, ids and times left out (parents and links by name). */
function shape(spans) {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s.name]));
  return spans.map((s) => ({
    name: s.name,
    kind: s.kind,
    parent: s.parentSpanContext ? (byId.get(s.parentSpanContext.spanId) ?? 'remote') : null,
    traceFlags: s.spanContext().traceFlags,
    traceState: s.spanContext().traceState?.serialize(),
    attributes: s.attributes,
    events: s.events.map(({ time, ...e }) => ({ ...e, timeIsHr: Array.isArray(time) && time.length === 2 })),
    links: s.links.map(({ context, ...l }) => ({ ...l, to: byId.get(context.spanId) ?? context.spanId })),
    status: s.status,
    droppedAttributesCount: s.droppedAttributesCount,
    droppedEventsCount: s.droppedEventsCount,
    droppedLinksCount: s.droppedLinksCount,
    resource: s.resource.attributes,
    scope: s.instrumentationScope,
    ended: s.ended,
  }));
}

function same(p, scenario) {
  for (const side of [p.sdk, p.lean]) scenario(side.provider.getTracer('scope-a', '1.2.3', { schemaUrl: 'https://example.com/s' }));
  const want = shape(p.sdk.spans());
  assert.ok(want.length > 0, 'the scenario exported spans');
  assert.deepEqual(shape(p.lean.spans()), want);
  return p;
}

const LINK_CTX = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, isRemote: true };
const WEIRD = {
  '': 'empty key',
  str: 'a string',
  num: 1.5,
  bool: false,
  nul: null,
  undef: undefined,
  fn: () => 1,
  sym: Symbol('s'),
  big: 10n,
  date: new Date(0),
  bytes: new Uint8Array([1, 2, 3]),
  homogeneous: ['a', 'b', null],
  mixed: ['a', 1, true],
  nested: { a: 1, b: { c: 'deep', d: undefined }, e: [1, { f: 2 }] },
  badNested: { a: () => 1 },
};

test('attributes are sanitized as upstream does: invalid keys and values dropped and counted, values copied', () => {
  const p = same(pair(), (t) => {
    const s = t.startSpan('weird', { attributes: WEIRD, kind: api.SpanKind.SERVER });
    for (const [k, v] of Object.entries(WEIRD)) s.setAttribute(`set.${k}`, v);
    s.setAttributes({ more: 'x', fn2: () => 2, '': 1 });
    s.addEvent('ev', { ok: 1, arr: [1, 2], mixed: ['a', 1], obj: { a: 1 }, bytes: new Uint8Array([1]) });
    s.end();
  });
  const lean = p.lean.spans()[0];
  assert.equal(lean.attributes.str, 'a string');
  assert.equal(lean.attributes.fn, undefined);
  assert.ok(lean.droppedAttributesCount > 0);
  assert.notEqual(lean.attributes.homogeneous, WEIRD.homogeneous, 'arrays are copied, not shared with the caller');
});

test('span limits: attribute count and value length, events, links, attributes per event and per link', () => {
  const limits = spanLimits({ OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: 3, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: 4, OTEL_SPAN_EVENT_COUNT_LIMIT: 2, OTEL_SPAN_LINK_COUNT_LIMIT: 2, OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: 1, OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: 1 });
  const p = same(pair({ limits }), (t) => {
    const links = [1, 2, 3].map((i) => ({ context: { ...LINK_CTX, spanId: `b7ad6b716920333${i}` }, attributes: { a: 'long value', b: i } }));
    const s = t.startSpan('limited', { attributes: { a: 'abcdefgh', b: ['abcdefgh', 'xy'], c: { d: 'abcdefgh' }, bad: () => 1, d: 1, e: 2 }, links });
    s.setAttribute('f', 'over the limit');
    s.setAttribute('a', 'replaced, not counted');
    s.addLink({ context: LINK_CTX });
    s.addLinks([{ context: LINK_CTX, attributes: { x: 1, y: 2 } }]);
    for (let i = 0; i < 4; i++) s.addEvent(`e${i}`, { one: 'abcdefgh', two: 2 });
    s.end();
    t.startSpan('only start links', { links }).end();
    const none = t.startSpan('no events, no links');
    none.addEvent('dropped');
    none.end();
  });
  const lean = p.lean.spans()[0];
  assert.deepEqual(lean.attributes.a, 'repl');
  assert.deepEqual(lean.events.map((e) => e.name), ['e2', 'e3']);
  assert.equal(lean.droppedLinksCount, 3);
  const zero = pair({ limits: { ...LIMITS, eventCountLimit: 0, linkCountLimit: 0 } });
  same(zero, (t) => {
    const s = t.startSpan('zero', { links: [{ context: LINK_CTX }] });
    s.addEvent('e');
    s.addLink({ context: LINK_CTX });
    s.end();
  });
});

test('status rules, recordException, updateName, and calls after end', () => {
  same(pair(), (t) => {
    const a = t.startSpan('a');
    a.setStatus({ code: api.SpanStatusCode.ERROR, message: 'first' });
    a.setStatus({ code: api.SpanStatusCode.UNSET });
    a.end();
    const b = t.startSpan('b');
    b.setStatus({ code: api.SpanStatusCode.OK, message: 'dropped with OK' });
    b.setStatus({ code: api.SpanStatusCode.ERROR, message: 'OK is final' });
    b.end();
    const c = t.startSpan('c');
    c.setStatus({ code: api.SpanStatusCode.ERROR, message: 42 });
    c.recordException(new TypeError('boom'));
    c.recordException(Object.assign(new Error('with code'), { code: 'ECONNRESET' }));
    c.recordException(Object.assign(new Error('numeric code'), { code: 7 }));
    c.recordException('just a message');
    c.recordException({});
    c.recordException(new Error('at a time'), [1700000000, 5]);
    c.updateName('c renamed');
    c.end();
    c.end();
    c.setAttribute('late', 1);
    c.addEvent('late');
    c.setStatus({ code: api.SpanStatusCode.OK });
    c.updateName('too late');
  });
});

test('times: given as Date, epoch ms, HrTime or performance time; event times; end before start', () => {
  const p = pair();
  const hr = [1700000000, 123456789];
  for (const side of [p.sdk, p.lean]) {
    const t = side.provider.getTracer('times');
    const s = t.startSpan('hr', { startTime: hr });
    s.addEvent('at hr', [1700000001, 0]);
    s.addEvent('at date', new Date(1700000002000));
    s.addEvent('attrs and time', { a: 1 }, 1700000003000);
    s.end([1700000004, 5]);
    t.startSpan('date', { startTime: new Date(1700000000000) }).end(new Date(1700000000500));
    t.startSpan('backwards', { startTime: 1700000010000 }).end(1700000000000);
  }
  const times = (side) => side.spans().map((s) => [s.name, s.startTime, s.endTime, s.duration, s.events.map((e) => e.time)]);
  assert.deepEqual(times(p.lean), times(p.sdk));
  const now = p.lean.provider.getTracer('now').startSpan('now');
  assert.deepEqual(now.duration, p.sdk.provider.getTracer('now').startSpan('now').duration, 'no duration before the end');
  const wall = Date.now();
  assert.ok(Math.abs(now.startTime[0] * 1000 + now.startTime[1] / 1e6 - wall) < 60_000, 'a start time is wall-clock time');
  now.end();
});

test('sampling: the sampler decides first; sampled spans are SAMPLED, others carry the context on without recording', () => {
  const calls = [];
  const sampler = {
    shouldSample(ctx, traceId, name, kind, attributes, links) {
      calls.push({ traceId, name, kind, attributes, links, parent: api.trace.getSpanContext(ctx) });
      if (name === 'drop') return { decision: sdk.SamplingDecision.NOT_RECORD, traceState: api.createTraceState('k=v') };
      if (name === 'record-only') return { decision: sdk.SamplingDecision.RECORD };
      return { decision: sdk.SamplingDecision.RECORD_AND_SAMPLED, attributes: { 'sampler.added': 'yes', overridden: 'by sampler' } };
    },
    toString: () => 'test sampler',
  };
  const starts = [];
  const ends = [];
  const watcher = { onStart: (s, ctx) => starts.push([s, ctx]), onEnd: (s) => ends.push(s), forceFlush: async () => {}, shutdown: async () => {} };
  const p = same(pair({ sampler: () => sampler, extra: () => [watcher] }), (t) => {
    const attrs = { overridden: 'by caller', bad: () => 1 };
    t.startActiveSpan('root', { attributes: attrs }, (root) => {
      const dropped = t.startSpan('drop', { attributes: attrs });
      assert.equal(dropped.isRecording(), false);
      api.context.with(api.trace.setSpan(api.context.active(), dropped), () => {
        const child = t.startSpan('child of dropped');
        assert.equal(child.spanContext().traceId, root.spanContext().traceId);
        child.end();
      });
      const ro = t.startSpan('record-only');
      assert.equal(ro.isRecording(), true);
      ro.end();
      root.end();
    });
  });
  const lean = calls.slice(calls.length / 2);
  assert.equal(lean[0].attributes.bad !== undefined, true, 'the sampler gets the caller\'s attributes as given');
  assert.equal(lean[0].parent, undefined);
  assert.equal(lean[1].traceId, lean[0].traceId, 'children are asked with their parent\'s trace id');
  const [root, drop] = lean;
  assert.equal(drop.parent.traceId, root.traceId);
  assert.deepEqual(p.lean.spans().map((s) => s.name), ['child of dropped', 'root'], 'exporting processors ignore RECORD-only spans');
  const leanEnds = ends.slice(ends.length / 2);
  assert.deepEqual(leanEnds.map((s) => s.name), ['child of dropped', 'record-only', 'root'], 'RECORD-only spans reach processors');
  assert.equal(leanEnds[1].spanContext().traceFlags, 0);
  // The dropped span's context: fresh span id, the parent's trace id, the sampler's trace state, not sampled.
  const child = p.lean.spans()[0];
  assert.equal(child.parentSpanContext.traceId, root.traceId);
  assert.equal(child.parentSpanContext.traceFlags, 0);
  assert.equal(child.parentSpanContext.traceState.serialize(), 'k=v');
  assert.match(child.parentSpanContext.spanId, /^[0-9a-f]{16}$/);
  assert.equal(p.lean.spans()[1].attributes['sampler.added'], 'yes');
  assert.equal(p.lean.spans()[1].attributes.overridden, 'by sampler');
  const leanStarts = starts.slice(starts.length / 2);
  assert.deepEqual(leanStarts.map(([s]) => s.name), ['root', 'child of dropped', 'record-only']);
  assert.ok(leanStarts.every(([, ctx]) => typeof ctx.getValue === 'function'), 'onStart gets the parent context');
  assert.equal(leanEnds[2], leanStarts[0][0], 'processors get the same object at start and end');
});

test('built samplers with OTEL_TRACES_SAMPLER_ARG: traceidratio decides on the trace id; parentbased follows the parent', () => {
  const ratio = new LeanTracerProvider({ api, sampler: buildSampler({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 0.25 }), spanProcessors: [], spanLimits: LIMITS, resource, warn: () => {} }).getTracer('r');
  const judge = new sdk.TraceIdRatioBasedSampler(0.25);
  let sampled = 0;
  for (let i = 0; i < 2000; i++) {
    const s = ratio.startSpan('r');
    const want = judge.shouldSample(api.ROOT_CONTEXT, s.spanContext().traceId).decision === sdk.SamplingDecision.RECORD_AND_SAMPLED;
    assert.equal(s.isRecording(), want);
    if (want) sampled++;
    s.end();
  }
  assert.ok(sampled > 300 && sampled < 700, `about a quarter sampled (${sampled} of 2000)`);

  const pb = new LeanTracerProvider({ api, sampler: buildSampler({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }), spanProcessors: [], spanLimits: LIMITS, resource, warn: () => {} }).getTracer('p');
  assert.equal(pb.startSpan('root').isRecording(), false);
  const remote = (flags) => api.trace.setSpanContext(api.ROOT_CONTEXT, { ...LINK_CTX, traceFlags: flags });
  const child = pb.startSpan('sampled parent', {}, remote(1));
  assert.equal(child.isRecording(), true);
  assert.equal(child.spanContext().traceId, LINK_CTX.traceId);
  assert.equal(child.parentSpanContext.isRemote, true);
  assert.equal(pb.startSpan('unsampled parent', {}, remote(0)).isRecording(), false);
  assert.equal(pb.startSpan('root option', { root: true }, remote(1)).isRecording(), false, 'options.root ignores the parent');
});

test('suppressed tracing gives the invalid context; a non-recording span still propagates', () => {
  const p = pair();
  const t = p.lean.provider.getTracer('s');
  const s = t.startSpan('suppressed', {}, suppressTracing(api.ROOT_CONTEXT));
  assert.equal(s.isRecording(), false);
  assert.deepEqual(s.spanContext(), api.INVALID_SPAN_CONTEXT);
  const off = new LeanTracerProvider({ api, sampler: new sdk.AlwaysOffSampler(), spanProcessors: [], spanLimits: LIMITS, resource, warn: () => {} }).getTracer('o');
  const carrier = {};
  const prop = new W3CTraceContextPropagator();
  const unsampled = off.startSpan('off');
  prop.inject(api.trace.setSpan(api.ROOT_CONTEXT, unsampled), carrier, api.defaultTextMapSetter);
  assert.match(carrier.traceparent, new RegExp(`^00-${unsampled.spanContext().traceId}-${unsampled.spanContext().spanId}-00$`));
  assert.notEqual(unsampled.spanContext().traceId, api.INVALID_TRACEID);
});

test('processors get ReadableSpan-shaped spans that upstream\'s OTLP serializer takes', () => {
  const p = pair();
  const t = p.lean.provider.getTracer('shape', '1');
  const s = t.startSpan('x', { attributes: { a: 1 }, links: [{ context: LINK_CTX, attributes: { l: 1 } }] });
  s.addEvent('e', { k: 'v' });
  s.setStatus({ code: api.SpanStatusCode.ERROR, message: 'm' });
  s.end();
  const [span] = p.lean.spans();
  for (const k of ['name', 'kind', 'startTime', 'endTime', 'status', 'attributes', 'links', 'events', 'duration', 'ended', 'resource', 'instrumentationScope', 'droppedAttributesCount', 'droppedEventsCount', 'droppedLinksCount']) assert.ok(span[k] !== undefined, `${k} is there`);
  assert.equal(typeof span.spanContext, 'function');
  assert.ok(span.duration[0] >= 0 && span.duration[1] >= 0);
  const body = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest([span])));
  const out = body.resourceSpans[0].scopeSpans[0].spans[0];
  assert.equal(out.name, 'x');
  assert.equal(out.events[0].name, 'e');
  assert.equal(out.links[0].attributes[0].key, 'l');
  assert.equal(out.status.message, 'm');
});

test('a throwing sampler is contained: not sampled, one warning; a throwing (guarded) processor too', () => {
  const bad = { shouldSample() { throw new Error('sampler bug'); }, toString: () => 'bad' };
  const warnings = [];
  const exporter = new sdk.InMemorySpanExporter();
  const thrower = guardProcessor({ onStart() { throw new Error('start bug'); }, onEnd() { throw new Error('end bug'); }, forceFlush: async () => {}, shutdown: async () => {} }, 'test processor', { warn: (m) => warnings.push(m), debug: () => {} });
  const throwingSampler = new LeanTracerProvider({ api, sampler: bad, spanProcessors: [], spanLimits: LIMITS, resource, warn: (m) => warnings.push(m) }).getTracer('b');
  const a = throwingSampler.startSpan('a');
  const b = throwingSampler.startSpan('b');
  assert.equal(a.isRecording() || b.isRecording(), false);
  assert.equal(warnings.filter((w) => w.includes('sampler bug')).length, 1);
  const silent = new LeanTracerProvider({ api, sampler: { shouldSample: () => undefined }, spanProcessors: [], spanLimits: LIMITS, resource, warn: () => {} }).getTracer('u');
  assert.equal(silent.startSpan('no result').isRecording(), false);
  const t = new LeanTracerProvider({ api, sampler: new sdk.AlwaysOnSampler(), spanProcessors: [thrower, new sdk.SimpleSpanProcessor({ exporter })], spanLimits: LIMITS, resource, warn: () => {} }).getTracer('t');
  t.startSpan('survives').end();
  assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), ['survives']);
});

test('the lazy facade builds on the first span, then calls the real tracer; suppressed spans build nothing', () => {
  let built = 0;
  const exporter = new sdk.InMemorySpanExporter();
  const real = () => {
    built++;
    return new LeanTracerProvider({ api, sampler: new sdk.AlwaysOnSampler(), spanProcessors: [new sdk.SimpleSpanProcessor({ exporter })], spanLimits: LIMITS, resource, warn: () => {} });
  };
  let provider;
  const facade = lazyTracerProvider(api, () => (provider ??= real()));
  const t = facade.getTracer('f', '1');
  assert.equal(facade.getTracer('f', '1'), t);
  t.startSpan('quiet', {}, suppressTracing(api.ROOT_CONTEXT)).end();
  assert.equal(built, 0);
  t.startActiveSpan('active', (s) => {
    assert.equal(api.trace.getActiveSpan(), s);
    t.startSpan('child').end();
    s.end();
  });
  t.startActiveSpan('with options', { kind: api.SpanKind.CLIENT }, api.ROOT_CONTEXT, (s) => s.end());
  assert.equal(built, 1);
  const names = exporter.getFinishedSpans().map((s) => [s.name, s.parentSpanContext ? 'child' : 'root']);
  assert.deepEqual(names, [['child', 'child'], ['active', 'root'], ['with options', 'root']]);
});

test('ids: lowercase hex of the right length, distinct across pool refills', () => {
  const seen = new Set();
  for (let i = 0; i < 3000; i++) {
    const t = traceId();
    const s = spanId();
    assert.match(t, /^[0-9a-f]{32}$/);
    assert.match(s, /^[0-9a-f]{16}$/);
    assert.ok(api.trace.isSpanContextValid({ traceId: t, spanId: s, traceFlags: 1 }));
    seen.add(t).add(s);
  }
  assert.equal(seen.size, 6000);
});

test('owned attributes: kept as they are when clean, cleaned as upstream cleans them otherwise', () => {
  const limits = spanLimits({ OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: 3, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: 4 });
  const clean = () => ({ a: 'abc', b: 1, c: true });
  const cases = [clean(), { a: 'abcdefgh', b: 1 }, { a: 'x', b: undefined, c: 2 }, { a: 1, b: 2, c: 3, d: 4 }, { '': 1 }, { a: ['x'] }, { a: null }];
  for (const attrs of cases) {
    same(pair({ limits }), (t) => t.startSpan('owned', new OwnedAttributes(api.SpanKind.SERVER, { ...attrs })).end());
  }
  const p = pair({ limits });
  const given = clean();
  const span = p.lean.provider.getTracer('s').startSpan('owned', new OwnedAttributes(api.SpanKind.SERVER, given));
  assert.equal(span.attributes, given, 'a clean owned object is the span\'s own');
  span.setAttribute('d', 'over the count limit');
  assert.equal(span.droppedAttributesCount, 1, 'its entries were counted');
  const notOwned = clean();
  assert.notEqual(p.lean.provider.getTracer('s').startSpan('copied', { attributes: notOwned }).attributes, notOwned, 'without the mark, a copy');
});

test('linked contexts read as the API\'s contexts given the same values, and carry its keys', () => {
  const keys = [0, 1, 2, 3].map((i) => api.createContextKey(`lean-test ${i}`));
  let seed = 7;
  const rand = (n) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), (seed >>> 16) % n);
  for (let run = 0; run < 20; run++) {
    // One sequence of sets and deletes (longer than a chain is kept), on the API's context and ours.
    const base = api.ROOT_CONTEXT.setValue(keys[0], 'base');
    let theirs = base;
    let ours = rand(2) ? withValue(base, keys[1], 'first') : base;
    if (ours !== base) theirs = theirs.setValue(keys[1], 'first');
    for (let step = 0; step < 30; step++) {
      const key = keys[rand(keys.length)];
      const op = rand(4);
      if (op === 0) {
        theirs = theirs.deleteValue(key);
        ours = ours.deleteValue(key);
      } else {
        const value = op === 1 ? null : `v${step}`;
        theirs = theirs.setValue(key, value);
        ours = ours === base ? withValue(ours, key, value) : ours.setValue(key, value);
      }
      for (const k of keys) assert.equal(ours.getValue(k), theirs.getValue(k), `run ${run} step ${step}`);
    }
  }
  const span = api.trace.wrapSpanContext(LINK_CTX);
  const rpc = { type: RPCType.HTTP, span };
  const ctx = withValue(withValue(api.ROOT_CONTEXT, SPAN_KEY, span), RPC_METADATA_KEY, rpc);
  assert.equal(api.trace.getSpan(ctx), span, 'SPAN_KEY is the API\'s');
  assert.equal(getRPCMetadata(ctx), rpc, 'RPC_METADATA_KEY is core\'s');
  assert.equal(api.trace.getSpan(api.trace.deleteSpan(ctx)), undefined);
  assert.equal(getRPCMetadata(api.trace.deleteSpan(ctx)), rpc);
});
