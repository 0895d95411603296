// The prototype diagnostics_channel server instrumentation (src/instrumentations/http-server)
// against @opentelemetry/instrumentation-http, in one process: both instrument the same server,
// each into its own tracer provider, and every request of a table of ordinary and odd requests
// (raw bytes on a socket) must give the same server span: name, kind, parent, status, attributes.
// Then, the prototype alone: the handler's callbacks run in the server span's context, a route set
// through the RPC metadata renames the span, an ignored request is traced by nobody.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from '../helpers/run.mjs';

const require = createRequire(import.meta.url);
const api = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { W3CTraceContextPropagator, getRPCMetadata } = require('@opentelemetry/core');
const { TracerProvider, SimpleSpanProcessor, InMemorySpanExporter } = require('@opentelemetry/sdk-trace');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { HttpServerInstrumentation } = require(join(ROOT, 'dist/instrumentations/http-server/index.js'));

api.context.setGlobalContextManager(new AsyncLocalStorageContextManager());
api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const provider = () => {
  const exporter = new InMemorySpanExporter();
  return { exporter, tp: new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }) };
};
const up = provider();
const lean = provider();
const headersToSpanAttributes = { server: { requestHeaders: ['x-test-id'], responseHeaders: ['content-type'] } };
const upstream = new HttpInstrumentation({ headersToSpanAttributes });
upstream.setTracerProvider(up.tp);
upstream.enable();
const ignored = (req) => req.url === '/ignored';
const prototype = new HttpServerInstrumentation({ headersToSpanAttributes, ignoreIncomingRequestHook: ignored });
prototype.setTracerProvider(lean.tp);
prototype.enable();
// Required after enabling: require-in-the-middle patches http as it is required.
const http = require('node:http');

const childTracer = lean.tp.getTracer('child');
let server;
let port;
before(async () => {
  server = http.createServer((req, res) => {
    if (req.url.startsWith('/route/')) getRPCMetadata(api.context.active()).route = '/route/:id';
    if (req.url === '/body') {
      // The second chunk arrives in a later read of the socket: only a bound emitter gives its
      // 'data' listener the request's context. A removed listener must stay removed.
      const never = () => res.destroy(new Error('a removed listener was called'));
      req.on('data', never);
      req.off('data', never);
      req.on('data', () => childTracer.startSpan('data').end());
      req.once('end', () => {
        childTracer.startSpan('end').end();
        res.end('ok');
      });
      res.once('finish', () => childTracer.startSpan('finish').end());
      return;
    }
    if (req.url === '/children' || req.url === '/ignored') {
      childTracer.startSpan('sync').end();
      setTimeout(() => {
        childTracer.startSpan('timer').end();
        Promise.resolve().then(() => {
          childTracer.startSpan('promise').end();
          res.end('ok');
        });
      }, 1);
      return;
    }
    const status = Number(/status=(\d+)/.exec(req.url)?.[1] ?? 200);
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end('hello');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  port = server.address().port;
});
after(() => server.close());

/** Sends raw request bytes on a fresh connection (a second part 50 ms later); resolves when the server closed it. */
function raw(text, later) {
  return new Promise((resolve, reject) => {
    const crlf = (t) => t.replace(/\n/g, '\r\n');
    const s = connect(port, '127.0.0.1', () => (later === undefined ? s.end(crlf(text)) : (s.write(crlf(text)), setTimeout(() => s.end(later), 50))));
    s.on('data', () => {});
    s.on('error', reject);
    s.on('close', resolve);
  });
}
async function spansAfter(exporter, n) {
  for (let i = 0; i < 200 && exporter.getFinishedSpans().length < n; i++) await new Promise((r) => setTimeout(r, 10));
  return exporter.getFinishedSpans();
}
const view = (s) => ({ name: s.name, kind: s.kind, parent: s.parentSpanContext?.spanId, trace: s.parentSpanContext ? s.spanContext().traceId : undefined, status: s.status, attributes: s.attributes, scope: s.instrumentationScope.name });

const TP = 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const REQUESTS = [
  `GET /a/b?sig=secret&x=1 HTTP/1.1\nHost: localhost:8080\nUser-Agent: ua/1\n${TP}\nConnection: close\n\n`,
  'GET / HTTP/1.1\nHost: example.com\nConnection: close\n\n',
  'GET //double/slash HTTP/1.1\nHost: h\nConnection: close\n\n',
  'GET /a/./b/../c HTTP/1.1\nHost: h\nConnection: close\n\n',
  'GET /%7Euser/caf%C3%A9;p=1 HTTP/1.1\nHost: h:81\nConnection: close\n\n',
  'GET /no-host HTTP/1.0\n\n',
  'GET /bad-host HTTP/1.1\nHost: exa mple\nConnection: close\n\n',
  'GET /bad-port HTTP/1.1\nHost: h:99999\nConnection: close\n\n',
  'GET /v6 HTTP/1.1\nHost: [::1]:8080\nConnection: close\n\n',
  'GET /v6-no-port HTTP/1.1\nHost: [::1]\nConnection: close\n\n',
  'GET /numeric-host HTTP/1.1\nHost: 1.2.3.4.5\nConnection: close\n\n',
  'GET http://other.example:9000/absolute?q=a+b HTTP/1.1\nHost: h\nConnection: close\n\n',
  'OPTIONS * HTTP/1.1\nHost: h\nConnection: close\n\n',
  'POST /status=503 HTTP/1.1\nHost: h\nContent-Length: 2\nConnection: close\n\nhi',
  'DELETE /status=404 HTTP/1.1\nHost: h\nConnection: close\n\n',
  'PURGE /custom-method HTTP/1.1\nHost: h\nConnection: close\n\n',
  'GET /fwd HTTP/1.1\nHost: h\nForwarded: for="[2001:db8::1]:4711";proto=https;host=example.com:8443\nConnection: close\n\n',
  'GET /xfwd HTTP/1.1\nHost: h\nX-Forwarded-Host: proxy.example\nX-Forwarded-Proto: https\nX-Forwarded-For: 203.0.113.9:1234, 10.0.0.1\nConnection: close\n\n',
  'GET /q?a=1&a=2&X-Amz-Signature=s&e=%20 HTTP/1.1\nHost: h\nX-Test-Id: t1\nConnection: close\n\n',
];

test('the same server span as instrumentation-http, request by request', async () => {
  for (const [i, text] of REQUESTS.entries()) {
    up.exporter.reset();
    lean.exporter.reset();
    await raw(text);
    const [a] = await spansAfter(up.exporter, 1);
    const [b] = await spansAfter(lean.exporter, 1);
    assert.ok(a && b, `request ${i}: a span from each (${text.split('\n')[0]})`);
    assert.deepEqual(view(b), view(a), `request ${i}: ${text.split('\n')[0]}`);
  }
});

test('requests Node answers itself are not traced, as upstream does not trace them', async () => {
  up.exporter.reset();
  lean.exporter.reset();
  // 400: HTTP/1.1 without Host (requireHostHeader); 417: an Expect Node does not know.
  await raw('GET /no-host-11 HTTP/1.1\nConnection: close\n\n');
  await raw('GET /expect HTTP/1.1\nHost: h\nExpect: nonsense\nConnection: close\n\n');
  await raw('GET /after HTTP/1.1\nHost: h\nConnection: close\n\n');
  const [a] = await spansAfter(up.exporter, 1);
  const [b] = await spansAfter(lean.exporter, 1);
  assert.deepEqual([up.exporter.getFinishedSpans().length, lean.exporter.getFinishedSpans().length], [1, 1], 'only the request the app saw');
  assert.equal(a.attributes['url.path'], '/after');
  assert.deepEqual(view(b), view(a));
});

test('a handler that throws synchronously: the span ends with the exception, as upstream\'s does, and the error reaches the caller', async () => {
  const thrower = http.createServer(() => {
    throw new TypeError('handler failed');
  });
  await new Promise((r) => thrower.listen(0, '127.0.0.1', r));
  try {
    // One real request would crash this process (the throw is uncaught); emit('request') is
    // what Node calls, so call it as Node would, after the channel has seen this server.
    const dc = require('node:diagnostics_channel');
    const { Socket } = require('node:net');
    const req = new http.IncomingMessage(new Socket());
    Object.assign(req, { method: 'GET', url: '/throws', httpVersion: '1.1', httpVersionMajor: 1, httpVersionMinor: 1 });
    req.headers = { host: 'h' };
    const res = new http.ServerResponse(req);
    up.exporter.reset();
    lean.exporter.reset();
    dc.channel('http.server.request.start').publish({ request: req, response: res, socket: req.socket, server: thrower });
    assert.throws(() => thrower.emit('request', req, res), { name: 'TypeError', message: 'handler failed' });
    const [a] = await spansAfter(up.exporter, 1);
    const [b] = await spansAfter(lean.exporter, 1);
    assert.ok(a && b, 'a span from each');
    const events = (s) => s.events.map((e) => ({ name: e.name, attributes: e.attributes }));
    assert.equal(b.status.code, api.SpanStatusCode.ERROR);
    assert.deepEqual(events(b).map((e) => e.attributes['exception.type']), ['TypeError']);
    assert.deepEqual({ ...view(b), events: events(b) }, { ...view(a), events: events(a) });
  } finally {
    thrower.close();
  }
});

test('a server whose emit cannot be replaced still serves, untraced by us', async () => {
  const fixed = http.createServer((req, res) => res.end('ok'));
  Object.defineProperty(fixed, 'emit', { value: fixed.emit, writable: false, configurable: false });
  await new Promise((r) => fixed.listen(0, '127.0.0.1', r));
  const errors = [];
  api.diag.setLogger({ error: (...a) => errors.push(a.join(' ')), warn() {}, info() {}, debug() {}, verbose() {} });
  try {
    lean.exporter.reset();
    for (let i = 0; i < 2; i++) {
      const body = await new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port: fixed.address().port, agent: false }, (res) => res.setEncoding('utf8').on('data', resolve)).on('error', reject));
      assert.equal(body, 'ok');
    }
    assert.equal(lean.exporter.getFinishedSpans().filter((s) => s.kind === api.SpanKind.SERVER).length, 0);
    assert.equal(errors.filter((e) => e.includes('its emit cannot be replaced')).length, 1, 'said once');
  } finally {
    api.diag.disable();
    fixed.close();
  }
});

test('without upstream: the handler runs in the server span, a route renames it, an ignored request is not traced', async () => {
  upstream.disable();
  try {
    lean.exporter.reset();
    await raw('GET /children HTTP/1.1\nHost: h\nConnection: close\n\n');
    const spans = await spansAfter(lean.exporter, 4);
    const serverSpan = spans.find((s) => s.kind === api.SpanKind.SERVER);
    assert.ok(serverSpan, 'a server span');
    for (const name of ['sync', 'timer', 'promise']) {
      const child = spans.find((s) => s.name === name);
      assert.equal(child?.parentSpanContext?.spanId, serverSpan.spanContext().spanId, `${name} is a child of the server span`);
    }
    lean.exporter.reset();
    await raw('GET /route/7 HTTP/1.1\nHost: h\nConnection: close\n\n');
    const [routed] = await spansAfter(lean.exporter, 1);
    assert.equal(routed.name, 'GET /route/:id');
    assert.equal(routed.attributes['http.route'], '/route/:id');
    lean.exporter.reset();
    await raw('GET /ignored HTTP/1.1\nHost: h\nConnection: close\n\n');
    await raw('GET / HTTP/1.1\nHost: h\nConnection: close\n\n');
    const after = await spansAfter(lean.exporter, 1);
    assert.deepEqual(after.map((s) => s.attributes['url.path']), ['/'], 'only the request that was not ignored, none of its children');
  } finally {
    upstream.enable();
  }
});

test('enable() declines when the context manager cannot attach (the caller falls back to instrumentation-http)', () => {
  // What @opentelemetry/api's context.attach does when the manager has no attach(): a no-op token.
  const noAttach = { ...api, context: { attach: () => ({ dispose() {} }), active: () => api.ROOT_CONTEXT } };
  const i = new HttpServerInstrumentation({}, noAttach);
  assert.equal(i.enable(), false);
  assert.equal(prototype.enable(), true, 'with the AsyncLocalStorage manager it can');
});

test('listeners added to the request and response run in the server span, bound per request or through the prototypes', async () => {
  upstream.disable();
  prototype.disable();
  const viaPrototype = new HttpServerInstrumentation({ bindEmitters: 'prototype' });
  viaPrototype.setTracerProvider(lean.tp);
  try {
    for (const [label, instrumentation] of [['per request', prototype], ['prototype', viaPrototype]]) {
      if (instrumentation === viaPrototype) prototype.disable();
      instrumentation.enable();
      lean.exporter.reset();
      await raw('POST /body HTTP/1.1\nHost: h\nContent-Length: 4\nConnection: close\n\nab', 'cd');
      const spans = await spansAfter(lean.exporter, 4);
      const serverSpan = spans.find((s) => s.kind === api.SpanKind.SERVER);
      assert.equal(serverSpan?.attributes['http.response.status_code'], 200, `${label}: the request completed`);
      for (const name of ['data', 'end', 'finish']) {
        const children = spans.filter((s) => s.name === name);
        assert.ok(children.length > 0, `${label}: a ${name} span`);
        for (const c of children) assert.equal(c.parentSpanContext?.spanId, serverSpan.spanContext().spanId, `${label}: ${name} is a child of the server span`);
      }
    }
  } finally {
    viaPrototype.disable();
    prototype.enable();
    upstream.enable();
  }
});
