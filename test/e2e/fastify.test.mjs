// Fastify out of the box: @fastify/otel is bundled and loaded when the app first resolves
// `fastify`, then added to every Fastify instance through fastify's 'fastify.initialization'
// diagnostics channel. Real Fastify 4 and 5 (test/fixtures/apps/fastify/v4 links the
// `fastify4` alias as `fastify`), under --require and --import, CJS and ESM; spans from a real
// OTLP receiver.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { REGISTER, ROOT, runNode } from '../helpers/run.mjs';

let receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());

let n = 0;
const spansOf = (svc) => receiver.spans().filter((s) => s.resource['service.name'] === svc);
const brief = (s) => `${s.scope} "${s.name}" ${s.kind} span=${s.spanId} parent=${s.parentSpanId ?? '-'} route=${s.attributes['http.route'] ?? '-'}`;
const SCOPE = '@fastify/otel';

async function run(mode, app, env = {}, nodeArgs = []) {
  const svc = `fastify-e2e-${n++}`;
  const res = await runNode([...nodeArgs, ...REGISTER[mode]], app, {
    env: { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', ...env },
    timeoutMs: 20000,
  });
  const major = app.includes('/v4/') ? '4' : '5';
  assert.equal(res.code, 0, `exit ${res.code}\n${res.stderr}`);
  assert.equal(res.stdout, `fastify ${major} status=200 body={"id":"42"}\n`, res.stderr);
  return { svc, res };
}

const CASES = [
  ['require', 'fastify/v4/app.cjs'],
  ['import', 'fastify/v4/app.cjs'],
  ['import', 'fastify/v4/app.mjs'],
  ['require', 'fastify/v5/app.cjs'],
  ['import', 'fastify/v5/app.cjs'],
  ['import', 'fastify/v5/app.mjs'],
];

for (const [mode, app] of CASES) {
  test(`${app} under --${mode}: fastify spans under the http server span, whose route is set`, async () => {
    const { svc, res } = await run(mode, app);
    const isServer = (s) => s.kind === 'SPAN_KIND_SERVER' && s.attributes['url.path'] === '/users/42';
    const spans = await waitFor(() => {
      const all = spansOf(svc);
      return all.some(isServer) && ['request', 'preHandler - fastify -> @fastify/otel', 'handler - fastify -> @fastify/otel'].every((name) => all.some((s) => s.scope === SCOPE && s.name === name)) && all;
    }, 10000);
    const got = `received:\n${spansOf(svc).map(brief).join('\n')}\nstderr:\n${res.stderr}`;
    assert.ok(spans, got);
    const servers = spans.filter(isServer);
    assert.equal(servers.length, 1, got);
    const [server] = servers;
    // HTTP server semantic conventions: http.route where the framework knows it, and the span
    // name `{method} {route}`; @fastify/otel passes the route to the http instrumentation through
    // the RPC metadata in the context instead of making a second SERVER span.
    assert.equal(server.scope, '@opentelemetry/instrumentation-http', got);
    assert.equal(server.attributes['http.route'], '/users/:id', got);
    assert.equal(server.name, 'GET /users/:id', got);
    const byName = (name) => spans.filter((s) => s.scope === SCOPE && s.name === name);
    const [request] = byName('request');
    assert.equal(byName('request').length, 1, got);
    assert.equal(request.kind, 'SPAN_KIND_INTERNAL', got);
    assert.equal(request.parentSpanId, server.spanId, `request span is the server span's child\n${got}`);
    assert.equal(request.attributes['http.route'], '/users/:id', got);
    const [hook] = byName('preHandler - fastify -> @fastify/otel');
    assert.equal(hook.parentSpanId, request.spanId, got);
    assert.equal(hook.attributes['hook.name'], 'fastify - preHandler', got);
    const [handler] = byName('handler - fastify -> @fastify/otel');
    assert.ok([request.spanId, server.spanId].includes(handler.parentSpanId), `handler under the request\n${got}`);
    for (const s of spans.filter((x) => x.scope === SCOPE)) assert.equal(s.traceId, server.traceId, got);
    assert.doesNotMatch(res.stderr, /fastify/i, 'no warning about fastify');
  });
}

test('OTEL_NODE_DISABLED_INSTRUMENTATIONS=fastify: no fastify spans, bare server span', async () => {
  const { svc } = await run('require', 'fastify/v5/app.cjs', { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'fastify' });
  const server = await waitFor(() => spansOf(svc).find((s) => s.kind === 'SPAN_KIND_SERVER'), 10000);
  assert.ok(server, 'server span');
  assert.equal(server.name, 'GET');
  assert.equal(server.attributes['http.route'], undefined);
  assert.deepEqual(spansOf(svc).filter((s) => s.scope === SCOPE).map(brief), []);
});

test('OTEL_NODE_INSTRUMENTATION_FASTIFY_IGNORE_PATHS reaches @fastify/otel: an ignored route makes no fastify spans', async () => {
  const { svc } = await run('require', 'fastify/v5/app.cjs', { OTEL_NODE_INSTRUMENTATION_FASTIFY_IGNORE_PATHS: '/users/*' });
  const server = await waitFor(() => spansOf(svc).find((s) => s.kind === 'SPAN_KIND_SERVER'), 10000);
  assert.ok(server, 'server span');
  assert.deepEqual(spansOf(svc).filter((s) => s.scope === SCOPE).map(brief), []);
});

test('@fastify/otel is loaded only once the app loads fastify, and then from our own dependencies', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'otel-fastify-probe-'));
  try {
    const out = join(dir, 'loaded.json');
    await run('require', 'fastify/v5/app.cjs', { LOADED_PROBE_OUT: out }, ['--require', join(ROOT, 'test/fixtures/loaded-probe.cjs')]);
    const files = JSON.parse(readFileSync(out, 'utf8'));
    assert.ok(files.includes(join(ROOT, 'node_modules/@fastify/otel/index.js')), 'our @fastify/otel loaded');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the startup report (the doctor's) says @fastify/otel joined the app's Fastify, though it patches no module", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'otel-fastify-report-'));
  try {
    const file = join(dir, 'report.json');
    await run('require', 'fastify/v4/app.cjs', { OTEL_NODE_DOCTOR_REPORT: file });
    // One file per process, named after the variable's value (src/report/doctor-child.ts).
    const [name] = readdirSync(dir).filter((f) => f.endsWith('.json'));
    const fastify = JSON.parse(readFileSync(join(dir, name), 'utf8')).instrumentations.find((i) => i.name === 'fastify');
    assert.deepEqual([fastify.status, fastify.package, fastify.patched], ['applied', '@fastify/otel', [{ module: 'fastify', version: '4.29.1' }]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The difference from upstream's bundle, which has no Fastify instrumentation. The HTTP semantic
// conventions make http.route conditionally required ("if and only if it's available") and name
// the server span "{method} {http.route}" when it is: ours is right, upstream's bare "GET" is not.
test("upstream's register on the same app: a bare GET server span with no http.route", async () => {
  const svc = `fastify-e2e-upstream-${n++}`;
  const res = await runNode(['--require', '@opentelemetry/auto-instrumentations-node/register'], 'fastify/v5/app.cjs', {
    // Upstream's local resource detectors only: its default would query cloud metadata addresses.
    env: { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process' },
    timeoutMs: 20000,
  });
  assert.equal(res.code, 0, res.stderr);
  const server = await waitFor(() => spansOf(svc).find((s) => s.kind === 'SPAN_KIND_SERVER'), 10000);
  assert.ok(server, 'server span');
  assert.deepEqual([server.name, server.attributes['http.route']], ['GET', undefined]);
  assert.deepEqual(spansOf(svc).filter((s) => s.scope === SCOPE).map(brief), []);
});
