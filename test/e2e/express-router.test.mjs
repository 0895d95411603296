// Express 5 runs on the `router` package, which the router instrumentation also patches: under
// upstream's register every express layer is recorded twice (router's `middleware - patched`
// around express's own span). By default we record one span set per request (the server span and
// express's spans); OTEL_NODE_EXPRESS_ROUTER_SPANS=true brings upstream's set back; an app that
// uses `router` without express still gets router's spans. Real apps (test/fixtures/apps/
// express-router/), the real register hook, spans decoded by a real OTLP receiver.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { REGISTER, runNode } from '../helpers/run.mjs';

const HTTP = '@opentelemetry/instrumentation-http';
const EXPRESS = '@opentelemetry/instrumentation-express';
const ROUTER = '@opentelemetry/instrumentation-router';
const UPSTREAM = ['--require', '@opentelemetry/auto-instrumentations-node/register'];
// Spans whose presence depends on load order, not on the framework (the first connect, lookup).
const NOISE = new Set(['@opentelemetry/instrumentation-net', '@opentelemetry/instrumentation-dns']);
const EXPRESS_SPANS = [`${EXPRESS} "middleware - apiAuth"`, `${EXPRESS} "middleware - passThrough"`, `${EXPRESS} "request handler"`, `${EXPRESS} "router - /api"`];

let receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());

/**
 * Runs `app` under `nodeArgs`; resolves with the spans of the trace its server span is in, once
 * the client span (which ends last, after the response) has arrived: the process has exited by
 * then, and everything it recorded went in its last export.
 */
async function request(nodeArgs, app, env = {}) {
  const service = `svc-${app.replace(/\W/g, '-')}-${Math.random().toString(36).slice(2, 8)}`;
  const res = await runNode(nodeArgs, app, {
    env: { OTEL_SERVICE_NAME: service, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process,serviceinstance', ...env },
  });
  assert.equal(res.code, 0, res.stderr);
  const mine = () => receiver.spans().filter((s) => s.resource['service.name'] === service && !NOISE.has(s.scope));
  const spans = await waitFor(() => {
    const all = mine();
    return all.some((s) => s.kind === 'SPAN_KIND_CLIENT') && all.some((s) => s.kind === 'SPAN_KIND_SERVER') && all;
  }, 15000);
  assert.ok(spans, `no client and server span from ${app}: ${JSON.stringify(mine().map((s) => s.name))}\n${res.stderr}`);
  const servers = spans.filter((s) => s.kind === 'SPAN_KIND_SERVER');
  assert.equal(servers.length, 1, `one server span: ${show(spans)}`);
  const [server] = servers;
  const trace = spans.filter((s) => s.traceId === server.traceId && s.kind !== 'SPAN_KIND_CLIENT');
  return { res, server, trace, names: trace.map((s) => `${s.scope} "${s.name}"`).sort() };
}

/** The router instrumentation's entry in the startup report (the doctor's) of `app` run under `nodeArgs`. */
async function routerReport(nodeArgs, app, env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'otel-express-router-'));
  try {
    const res = await runNode(nodeArgs, app, { env: { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_NODE_DOCTOR_REPORT: join(dir, 'report.json'), ...env } });
    assert.equal(res.code, 0, res.stderr);
    // One file per process, named after the variable's value (src/report/doctor-child.ts).
    const [name] = readdirSync(dir).filter((f) => f.endsWith('.json'));
    return JSON.parse(readFileSync(join(dir, name), 'utf8')).instrumentations.find((i) => i.name === 'router');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function show(spans) {
  return spans.map((s) => `${s.scope} "${s.name}" ${s.kind}`).join('; ');
}

for (const [mode, app] of [['require', 'express-router/express5.cjs'], ['import', 'express-router/express5.cjs'], ['import', 'express-router/express5.mjs']]) {
  test(`Express 5, ${app} under --${mode}: one span set per request, express's spans children of the server span`, { timeout: 60000 }, async () => {
    const { res, server, trace, names } = await request(REGISTER[mode], app);
    assert.equal(res.stdout, 'express5 status=200 body={"id":"42"}\n');
    assert.deepEqual(names, [`${HTTP} "GET /api/users/:id"`, ...EXPRESS_SPANS].sort(), show(trace));
    assert.equal(server.attributes['http.route'], '/api/users/:id');
    for (const s of trace.filter((x) => x !== server)) assert.equal(s.parentSpanId, server.spanId, `${s.name} is a child of the server span: ${show(trace)}`);
    const handler = trace.find((s) => s.name === 'request handler');
    assert.equal(handler.attributes['http.route'], '/api/users/:id');
    assert.equal(handler.attributes['express.type'], 'request_handler');
  });
}

describe('OTEL_NODE_EXPRESS_ROUTER_SPANS=true', () => {
  test("express5.cjs under --require records the spans upstream's register records", { timeout: 60000 }, async () => {
    const ours = await request(REGISTER.require, 'express-router/express5.cjs', { OTEL_NODE_EXPRESS_ROUTER_SPANS: 'true' });
    const theirs = await request(UPSTREAM, 'express-router/express5.cjs');
    assert.deepEqual(ours.names, theirs.names);
    // What upstream records: each express span under a router span wrapping the same layer.
    assert.ok(ours.names.includes(`${ROUTER} "middleware - patched"`), show(ours.trace));
    assert.ok(ours.names.includes(`${ROUTER} "request handler - /api/users/:id"`), show(ours.trace));
    for (const name of EXPRESS_SPANS) assert.ok(ours.names.includes(name), `${name}: ${show(ours.trace)}`);
  });

  test('express5.mjs under --import has the router spans back', { timeout: 60000 }, async () => {
    const { names, trace } = await request(REGISTER.import, 'express-router/express5.mjs', { OTEL_NODE_EXPRESS_ROUTER_SPANS: 'true' });
    assert.equal(names.filter((n) => n === `${ROUTER} "middleware - patched"`).length, 4, show(trace));
    assert.ok(names.includes(`${ROUTER} "request handler - /api/users/:id"`), show(trace));
  });
});

for (const [mode, app] of [['require', 'express-router/router-alone.cjs'], ['import', 'express-router/router-alone.cjs'], ['import', 'express-router/router-alone.mjs']]) {
  test(`router without express, ${app} under --${mode}: router's spans, children of the server span`, { timeout: 60000 }, async () => {
    const { res, server, trace, names } = await request(REGISTER[mode], app);
    assert.equal(res.stdout, 'router status=200 body={"id":"42"}\n');
    assert.deepEqual(names, [`${HTTP} "GET"`, `${ROUTER} "middleware - passThrough"`, `${ROUTER} "request handler - /users/:id"`].sort(), show(trace));
    for (const s of trace.filter((x) => x !== server)) assert.equal(s.parentSpanId, server.spanId, `${s.name} is a child of the server span: ${show(trace)}`);
    assert.equal(trace.find((s) => s.name === 'request handler - /users/:id').attributes['http.route'], '/users/:id');
  });
}

test("the startup report (the doctor's) says why router was not loaded for express's router, and that it was for the app's own", { timeout: 60000 }, async () => {
  const covered = await routerReport(REGISTER.require, 'express-router/express5.cjs');
  assert.equal(covered.status, 'waiting');
  assert.match(covered.reason, /express loaded router, whose work the express instrumentation already records \(OTEL_NODE_EXPRESS_ROUTER_SPANS=true restores both\)/);
  const restored = await routerReport(REGISTER.require, 'express-router/express5.cjs', { OTEL_NODE_EXPRESS_ROUTER_SPANS: 'true' });
  assert.deepEqual([restored.status, restored.patched], ['applied', [{ module: 'router', version: '2.3.0' }]]);
  const alone = await routerReport(REGISTER.require, 'express-router/router-alone.cjs');
  assert.deepEqual([alone.status, alone.patched], ['applied', [{ module: 'router', version: '2.3.0' }]]);
});
