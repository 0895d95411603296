// Our http server instrumentation leaves the request's context before Node re-arms a keep-alive
// socket's timer (src/instrumentations/http-server/index.ts, onFinish): that timer would otherwise
// hold the last request's context, hence its span, until the connection's next request (issue 19).
// What shows: the socket's keep-alive timeout runs in no span's context. The hook called at the
// response's end still runs in the request's context.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/run.mjs';

const require = createRequire(import.meta.url);
const api = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { TracerProvider, SimpleSpanProcessor, InMemorySpanExporter } = require('@opentelemetry/sdk-trace');
const { HttpServerInstrumentation } = require(join(ROOT, 'dist/instrumentations/http-server/index.js'));

api.context.setGlobalContextManager(new AsyncLocalStorageContextManager());
const exporter = new InMemorySpanExporter();
const tp = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
let hookSaw;
const instrumentation = new HttpServerInstrumentation({
  bindEmitters: 'prototype',
  applyCustomAttributesOnSpan: (span) => (hookSaw = api.trace.getActiveSpan() === span),
});
instrumentation.setTracerProvider(tp);
instrumentation.enable();
const http = require('node:http');

test("a keep-alive socket's timeout runs outside the last request's context; the end hook inside it", async () => {
  const server = http.createServer((req, res) => res.end('ok'));
  // Re-armed by Node after each response (resOnFinish), at keepAliveTimeout + keepAliveTimeoutBuffer.
  server.keepAliveTimeout = 50;
  server.keepAliveTimeoutBuffer = 0;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  // The socket's 'timeout' event is emitted from that timer, in the timer's context.
  const timedOut = new Promise((resolve) => server.once('connection', (socket) => socket.once('timeout', () => resolve(api.trace.getActiveSpan()))));
  // A raw keep-alive client that stays connected (http.Agent closes idle sockets before the server's timeout).
  const client = connect(server.address().port, '127.0.0.1', () => client.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
  client.on('data', () => {});
  client.on('error', () => {});
  const active = await timedOut;
  client.destroy();
  server.close();
  assert.equal(exporter.getFinishedSpans().length, 1);
  assert.equal(active, undefined);
  assert.equal(hookSaw, true);
});
