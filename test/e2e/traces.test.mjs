// Real apps under the real register hook, telemetry decoded by a real OTLP receiver.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { APPS, cleanEnv, REGISTER, ROOT, runNode } from '../helpers/run.mjs';
import nodeFeatures from '../../dist/node-features.js';

let receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());

/** Runs one app under one hook and returns its result and the spans of its service. */
async function run(mode, app, { env = {}, args = [], expect = 1, preload = [] } = {}) {
  const service = `svc-${mode}-${app}-${Math.random().toString(36).slice(2, 8)}`;
  const res = await runNode([...preload, ...REGISTER[mode]], app, {
    args,
    env: { OTEL_SERVICE_NAME: service, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, ...env },
  });
  const mine = () => receiver.spans().filter((s) => s.resource['service.name'] === service);
  await waitFor(() => mine().length >= expect);
  return { res, spans: mine(), service };
}

function byKind(spans, kind) {
  return spans.filter((s) => s.kind === `SPAN_KIND_${kind}`);
}

for (const mode of ['require', 'import']) {
  for (const app of ['http-app.cjs', 'http-app.mjs']) {
    test(`${app} under --${mode}: server and client spans in one trace, resource from the env`, async () => {
      const { res, spans, service } = await run(mode, app, { expect: 2, env: { OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,team=core' } });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, 'status=200 body=hello /hello\n');
      assert.equal(res.stderr, '');
      const [server] = byKind(spans, 'SERVER');
      const [client] = byKind(spans, 'CLIENT');
      assert.ok(server && client, JSON.stringify(spans.map((s) => s.name)));
      assert.equal(server.name, 'GET');
      assert.equal(server.attributes['http.request.method'], 'GET');
      assert.equal(server.attributes['url.path'], '/hello');
      assert.equal(server.attributes['http.response.status_code'], 200);
      // The client's traceparent header makes the server span its child.
      assert.equal(server.traceId, client.traceId);
      assert.equal(server.parentSpanId, client.spanId);
      const r = server.resource;
      assert.equal(r['service.name'], service);
      assert.equal(r['deployment.environment.name'], 'test');
      assert.equal(r.team, 'core');
      assert.equal(r['telemetry.sdk.language'], 'nodejs');
      assert.equal(r['process.pid'], res.pid);
      assert.ok(r['host.name'], 'host detector ran');
      assert.ok(r['service.instance.id'], 'service instance detector ran');
    });
  }

  for (const app of ['express-app.cjs', 'express-app.mjs']) {
    test(`${app} under --${mode}: express spans are children of the http server span`, async () => {
      const { res, spans } = await run(mode, app, { expect: 4 });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, 'status=200 body={"id":"42"}\n');
      const [server] = byKind(spans, 'SERVER');
      assert.equal(server.name, 'GET /users/:id');
      assert.equal(server.attributes['http.route'], '/users/:id');
      const express = spans.filter((s) => s.scope === '@opentelemetry/instrumentation-express');
      assert.ok(express.length >= 2, `express spans: ${spans.map((s) => `${s.scope}:${s.name}`).join(', ')}`);
      assert.ok(express.some((s) => s.name === 'request handler'));
      assert.ok(express.some((s) => s.name === 'middleware - jsonParser'));
      const ids = new Set(spans.map((s) => s.spanId));
      for (const s of express) {
        assert.equal(s.traceId, server.traceId);
        assert.ok(ids.has(s.parentSpanId), `${s.name} has a parent in the trace`);
      }
    });
  }
}

// import-in-the-middle's hook side comes from our bundle of it, dist/iitm-hook.js
// (scripts/bundle.mjs), not from its create-hook.mjs, where Node has synchronous hooks. In this
// app it wraps node:http (express itself is patched by require-in-the-middle at its load,
// test/e2e/imported-cjs.test.mjs); express spans still come.
test('express-app.mjs under --import: import-in-the-middle\'s hooks come from dist/iitm-hook.js, and express spans still come', { skip: !nodeFeatures.has('syncEsmHooks') && 'no synchronous hooks: the threaded loader' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'otel-iitm-hook-'));
  try {
    const out = join(dir, 'loaded.json');
    const { res, spans } = await run('import', 'express-app.mjs', { expect: 4, preload: ['--require', join(ROOT, 'test/fixtures/loaded-probe.cjs')], env: { LOADED_PROBE_OUT: out } });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'status=200 body={"id":"42"}\n');
    assert.ok(spans.some((s) => s.scope === '@opentelemetry/instrumentation-express' && s.name === 'request handler'), spans.map((s) => `${s.scope}:${s.name}`).join(', '));
    const loaded = JSON.parse(readFileSync(out, 'utf8'));
    assert.ok(loaded.includes(join(ROOT, 'dist', 'iitm-hook.js')), 'dist/iitm-hook.js loaded');
    assert.deepEqual(loaded.filter((f) => /import-in-the-middle[\\/](create-hook|lib[\\/]get-)/.test(f)), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A CommonJS app's import() of express: require-in-the-middle patches it at its load; with
// OTEL_NODE_IMPORTED_COMMONJS=wrap, import-in-the-middle's hooks are registered inside that very
// resolve (under --require no ES import came before) and must still wrap it.
for (const mode of ['require', 'import']) {
  for (const how of ['require', 'wrap']) {
    test(`a CommonJS app whose first ES import is express, under --${mode}, OTEL_NODE_IMPORTED_COMMONJS=${how}: express spans`, async () => {
      const { res, spans } = await run(mode, 'express-import-from-cjs.cjs', { expect: 3, env: { OTEL_NODE_IMPORTED_COMMONJS: how } });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stderr, '');
      assert.equal(res.stdout, 'status=200 body={"id":"42"}\n');
      const [server] = byKind(spans, 'SERVER');
      assert.equal(server.attributes['http.route'], '/users/:id');
      assert.ok(spans.some((s) => s.scope === '@opentelemetry/instrumentation-express' && s.name === 'request handler'), spans.map((s) => `${s.scope}:${s.name}`).join(', '));
    });
  }
}

for (const mode of ['require', 'import']) {
  test(`global fetch under --${mode}: an undici client span, parent of the server span`, async () => {
    const { res, spans } = await run(mode, 'fetch-app.mjs', { expect: 2 });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'status=200 body=pong\n');
    const client = byKind(spans, 'CLIENT').find((s) => s.scope === '@opentelemetry/instrumentation-undici');
    const server = byKind(spans, 'SERVER')[0];
    assert.ok(client, spans.map((s) => `${s.scope}:${s.name}`).join(', '));
    assert.equal(client.attributes['http.request.method'], 'GET');
    assert.equal(server.parentSpanId, client.spanId);
  });
}

for (const protocol of ['http/protobuf', 'http/json', 'grpc']) {
  test(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} delivers spans and metrics`, async () => {
    const endpoint = protocol === 'grpc' ? receiver.grpcUrl : receiver.httpUrl;
    const { res, spans, service } = await run('import', 'http-app.mjs', { expect: 2, env: { OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
    assert.equal(byKind(spans, 'SERVER').length, 1);
    assert.ok(spans.every((s) => s.resource['service.name'] === service));
    const names = await waitFor(() => receiver.metricNames().has('http.server.request.duration') && receiver.metricNames());
    assert.ok(names, 'http.server.request.duration metric received');
  });
}

test('console exporter writes spans to stdout and nothing is sent over OTLP', async () => {
  const { res, spans } = await run('require', 'http-app.cjs', { expect: 0, env: { OTEL_TRACES_EXPORTER: 'console', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' } });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /status=200 body=hello \/hello/);
  assert.match(res.stdout, /traceId: '[0-9a-f]{32}'/);
  assert.equal(spans.length, 0);
});

test('without a service name the resource says unknown_service:node, as the spec says', async () => {
  const res = await runNode(REGISTER.require, 'http-app.cjs', {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_RESOURCE_ATTRIBUTES: 'marker=no-name-test' },
  });
  assert.equal(res.code, 0, res.stderr);
  const mine = () => receiver.spans().filter((s) => s.resource.marker === 'no-name-test');
  await waitFor(() => mine().length >= 2);
  assert.equal(mine()[0].resource['service.name'], 'unknown_service:node');
});

test('OTEL_TRACES_SAMPLER=always_off: the app works, no span is exported', async () => {
  const { res, spans } = await run('require', 'http-app.cjs', { expect: 0, env: { OTEL_TRACES_SAMPLER: 'always_off' } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(spans.length, 0);
});

test('OTEL_PROPAGATORS=b3: the client sends b3 (only), the server joins the trace through it', async () => {
  const { res, spans } = await run('require', 'http-app.cjs', { expect: 2, env: { OTEL_PROPAGATORS: 'b3', ECHO_TRACE_HEADERS: '1' } });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^headers=b3$/m);
  const [server] = byKind(spans, 'SERVER');
  const [client] = byKind(spans, 'CLIENT');
  assert.equal(server.parentSpanId, client.spanId);
});

// The oldest Node we support predates the synchronous ESM hooks import-in-the-middle needs
// (nodejs/node#59929), so it takes the threaded module.register() loader: ESM must work there too.
const OLDEST = join(ROOT, 'node_modules/node-oldest/bin/node');
for (const [mode, app] of [['import', 'express-app.mjs'], ['require', 'express-app.cjs']]) {
  test(`oldest supported Node (22.15.0), ${app} under --${mode}: express spans through the fallback hook path`, async () => {
    const service = `oldest-${mode}-${app}`;
    const res = await new Promise((resolve) => {
      const c = spawn(OLDEST, [...REGISTER[mode], app], { cwd: APPS, env: cleanEnv({ OTEL_SERVICE_NAME: service, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl }) });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      c.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
    assert.equal(res.stdout, 'status=200 body={"id":"42"}\n');
    const mine = () => receiver.spans().filter((s) => s.resource['service.name'] === service);
    await waitFor(() => mine().some((s) => s.scope === '@opentelemetry/instrumentation-express'));
    assert.equal(mine()[0].resource['process.runtime.version'], '22.15.0');
    assert.ok(mine().some((s) => s.scope === '@opentelemetry/instrumentation-express' && s.name === 'request handler'), mine().map((s) => s.name).join(', '));
  });
}
