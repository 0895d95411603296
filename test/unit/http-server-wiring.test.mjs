// How the http catalog entry is built (src/hooks/http-server.ts): ours for incoming requests and
// instrumentation-http for outgoing ones, or instrumentation-http for both when asked, when its
// config has a key ours does not read, or when the context manager cannot attach a context.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/run.mjs';

const require = createRequire(import.meta.url);
const api = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { buildHttp, upstreamOnlyReason } = require(join(ROOT, 'dist/hooks/http-server.js'));
const loadServer = () => require(join(ROOT, 'dist/instrumentations/http-server/index.js'));
const dc = require('node:diagnostics_channel');

/** Stands in for HttpInstrumentation: keeps the config it was built with. */
class FakeUpstream {
  static built = [];
  instrumentationName = '@opentelemetry/instrumentation-http';
  instrumentationVersion = '0.300.0';
  enabled = true;
  constructor(config) {
    this.config = config;
    FakeUpstream.built.push(this);
  }
  enable() {
    this.enabled = true;
  }
  disable() {
    this.enabled = false;
  }
  isEnabled() {
    return this.enabled;
  }
  setTracerProvider() {}
  setMeterProvider() {}
}
const providers = { tracer: () => api.trace.getTracerProvider(), meter: () => api.metrics.getMeterProvider(), logger: () => api.logs?.getLoggerProvider() };
const subscribed = () => dc.channel('http.server.request.start').hasSubscribers;
const build = (config, mode = 'lean') => {
  FakeUpstream.built = [];
  return buildHttp(FakeUpstream, config, mode, providers, loadServer);
};

test('lean: ours subscribes, instrumentation-http gets the config with disableIncomingRequestInstrumentation', () => {
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  try {
    const hook = () => false;
    const b = build({ ignoreIncomingRequestHook: hook, requireParentforOutgoingSpans: true, headersToSpanAttributes: { server: { requestHeaders: ['x'] } } });
    assert.match(b.detail, /^incoming requests: diagnostics_channel/);
    assert.equal(FakeUpstream.built.length, 1, 'one instrumentation-http');
    assert.deepEqual(FakeUpstream.built[0].config, { ignoreIncomingRequestHook: hook, requireParentforOutgoingSpans: true, headersToSpanAttributes: { server: { requestHeaders: ['x'] } }, disableIncomingRequestInstrumentation: true });
    assert.equal(b.upstream, FakeUpstream.built[0]);
    assert.notEqual(b.instance, b.upstream, 'the pair');
    assert.equal(b.instance.instrumentationVersion, '0.300.0');
    assert.ok(subscribed(), 'ours listens on http.server.request.start');
    b.instance.disable();
    assert.ok(!subscribed(), 'disable() reaches ours');
  } finally {
    api.context.disable();
  }
});

test('upstream for both: by the setting, for a key only instrumentation-http reads, with disableIncomingRequestInstrumentation', () => {
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  try {
    for (const [config, mode, detail] of [
      [{}, 'upstream', /instrumentation-http \(OTEL_NODE_HTTP_SERVER_INSTRUMENTATION=upstream\)/],
      [{ serverName: 'x' }, 'lean', /instrumentation-http, because its config has "serverName", which only instrumentation-http reads/],
      [{ disableIncomingRequestInstrumentation: true }, 'lean', /not traced/],
    ]) {
      const b = build(config, mode);
      assert.match(b.detail, detail);
      assert.equal(FakeUpstream.built.length, 1);
      assert.deepEqual(FakeUpstream.built[0].config, config, 'the config untouched');
      assert.equal(b.instance, b.upstream);
      assert.ok(!subscribed());
    }
  } finally {
    api.context.disable();
  }
  assert.equal(upstreamOnlyReason({ requestHook() {}, redactedQueryParams: [], enabled: true }), undefined);
});

test('a context manager without attach(): instrumentation-http for both', () => {
  const noAttach = { active: () => api.ROOT_CONTEXT, with: (_c, fn, self, ...args) => fn.apply(self, args), bind: (_c, t) => t, enable() { return this; }, disable() { return this; } };
  api.context.setGlobalContextManager(noAttach);
  api.diag.setLogger({ warn() {}, error() {}, info() {}, debug() {}, verbose() {} });
  try {
    const b = build({});
    assert.match(b.detail, /because the global context manager has no attach\(\)/);
    assert.equal(FakeUpstream.built.length, 1);
    assert.deepEqual(FakeUpstream.built[0].config, {});
    assert.ok(!subscribed());
  } finally {
    api.diag.disable();
    api.context.disable();
  }
});
