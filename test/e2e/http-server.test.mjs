// Our HTTP server instrumentation (the default, docs/http-server.md) against instrumentation-http
// (OTEL_NODE_HTTP_SERVER_INSTRUMENTATION=upstream), field by field, as tracer-conformance does for
// the tracer: each app runs once each way against one receiver, and the two exports must be equal
// (names, kinds, the span tree and so the parents, attributes with their OTLP types, status,
// events, scopes), what legitimately differs between two runs normalized (NORMALIZE). Each run's
// debug line must say who traced the incoming requests, so a wiring that quietly left upstream's
// in place fails here. Real apps under --require and --import: node:http with an outgoing
// http.get inside the handler (its client span under the server span, the traceparent reaching
// the next server span), per-instrumentation options from the environment, an https-only app,
// the frameworks that set http.route, and a handler that throws synchronously.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { canonical, describeDifference, startSpanReceiver, NORMALIZE } from '../helpers/span-compare.mjs';
import { waitFor } from '../helpers/otlp.mjs';
import { REGISTER, runNode } from '../helpers/run.mjs';

const MODES = { lean: {}, upstream: { OTEL_NODE_HTTP_SERVER_INSTRUMENTATION: 'upstream' } };
const SAID = {
  lean: /loaded @opentelemetry\/instrumentation-http@[\d.]+ for "https?"; incoming requests: diagnostics_channel http\.server\.request\.start \(ours\); outgoing: instrumentation-http\n/,
  upstream: /loaded @opentelemetry\/instrumentation-http@[\d.]+ for "https?"; incoming requests: instrumentation-http \(OTEL_NODE_HTTP_SERVER_INSTRUMENTATION=upstream\)\n/,
};
// Server options from the environment must reach ours (src/config/instrumentation-options.ts).
const HTTP_OPTIONS = {
  OTEL_NODE_INSTRUMENTATION_HTTP_IGNORE_INCOMING_PATHS: '/health',
  OTEL_NODE_INSTRUMENTATION_HTTP_HEADERS_TO_SPAN_ATTRIBUTES_SERVER_REQUEST_HEADERS: 'x-test-id',
};
const CLIENT_LINE = 'http-client 200 got leaf traceparent=yes | 404 not found | 500 failed | 200 ok';
// The app's own requests are client spans at the root: root > server > http.get > server.
const CLIENT_SPANS = ['GET > GET > GET > GET'];

/** Fixture apps under test/fixtures/apps/conformance; `spans`: labels that must be there. */
const APPS = [
  { app: 'http-client.cjs', mode: 'require', env: HTTP_OPTIONS, stdout: CLIENT_LINE, spans: CLIENT_SPANS, client: true },
  { app: 'http-client.mjs', mode: 'import', env: HTTP_OPTIONS, stdout: CLIENT_LINE, spans: CLIENT_SPANS, client: true },
  { app: 'http-client.cjs', mode: 'import', env: HTTP_OPTIONS, stdout: CLIENT_LINE, spans: CLIENT_SPANS, client: true },
  { app: 'https-only.cjs', mode: 'require', tls: true, stdout: 'https status=200 body=hello /users/42', spans: ['GET > GET'] },
  { app: 'http-fetch.mjs', mode: 'import', stdout: 'http status=200 body=got leaf', spans: ['GET > GET > GET > GET'] },
  { app: 'express.cjs', mode: 'require', stdout: 'express status=200 body={"id":"42"}', spans: ['GET > GET /users/:id'], route: true },
  { app: 'express.mjs', mode: 'import', stdout: 'express status=200 body={"id":"42"}', spans: ['GET > GET /users/:id'], route: true },
  { app: 'express4/app.cjs', mode: 'require', nodeArgs: ['--preserve-symlinks'], stdout: 'express status=200 body={"id":"42"}', spans: ['GET > GET /users/:id'], route: true },
  { app: 'koa.cjs', mode: 'require', stdout: /^koa status=200 /, spans: ['GET > GET /users/:id'], route: true },
  { app: 'koa.mjs', mode: 'import', stdout: /^koa status=200 /, spans: ['GET > GET /users/:id'], route: true },
  { app: 'hapi.cjs', mode: 'require', stdout: /^hapi status=200 /, spans: ['GET > GET /users/{id}'], route: true },
  { app: 'nestjs.cjs', mode: 'require', stdout: /^nestjs status=200 /, spans: ['GET > GET /users/:id'], route: true },
  { app: 'restify.cjs', mode: 'require', stdout: /^restify status=200 /, spans: ['GET > GET /users/:id'], route: true },
  { app: 'connect.cjs', mode: 'require', stdout: /^connect status=200 /, route: false },
  { app: '../fastify/v5/app.cjs', mode: 'require', stdout: /^fastify 5 status=200 /, spans: ['GET > GET /users/:id'], route: true },
  { app: '../fastify/v5/app.mjs', mode: 'import', stdout: /^fastify 5 status=200 /, spans: ['GET > GET /users/:id'], route: true },
];

let receiver;
/** A self-signed certificate for localhost, for the https app. */
let tlsDir;
before(async () => {
  receiver = await startSpanReceiver();
  tlsDir = mkdtempSync(join(tmpdir(), 'otel-http-server-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', 'key.pem', '-out', 'cert.pem'], { cwd: tlsDir, stdio: 'ignore' });
});
after(async () => {
  await receiver?.close();
  if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
});

const nowNs = () => BigInt(Date.now()) * 1000000n;
let n = 0;

/** Runs `spec`'s app with the server side `mode`; resolves with its output and the window its spans fall in. */
async function runUnder(spec, mode) {
  const run = `http-server-${n++}-${mode}`;
  const env = {
    OTEL_SERVICE_NAME: `http-server-${spec.app}`,
    OTEL_RESOURCE_ATTRIBUTES: `test.run=${run}`,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process',
    OTEL_LOG_LEVEL: 'debug',
    ...spec.env,
    ...(spec.tls ? { TEST_TLS_KEY: join(tlsDir, 'key.pem'), TEST_TLS_CERT: join(tlsDir, 'cert.pem') } : {}),
    ...MODES[mode],
  };
  const from = nowNs() - 1000000000n;
  const res = await runNode([...(spec.nodeArgs ?? []), ...REGISTER[spec.mode]], `conformance/${spec.app}`, { env, timeoutMs: 30000 });
  const to = nowNs() + 1000000000n;
  return { mode, run, res, window: [from, to], output: `${mode}: exit ${res.code}\nstdout:\n${res.stdout}\nstderr (the debug lines naming the http instrumentation):\n${res.stderr.split('\n').filter((l) => /instrumentation-http|Error|error:|warning:/.test(l)).join('\n')}` };
}

/** Both runs' canonical exports, once each has as many spans as `count` says (or the other run). */
async function exportsOf(runs, enough = (x) => x.length > 0) {
  const records = () => runs.map((r) => receiver.select('test.run', r.run));
  await waitFor(() => records().every(enough) && records()[0].length === records()[1].length, 10000);
  return records().map((x, i) => canonical(x, { window: runs[i].window, normalize: NORMALIZE }));
}

function assertSame(label, runs, a, b, output) {
  for (const [r, c] of [[runs[0], a], [runs[1], b]]) assert.deepEqual(c.problems, [], `${r.mode}: times out of order\n${output}`);
  const diff = describeDifference(a, b, Object.keys(MODES));
  assert.ok(diff === '', `${label}: the exports differ (${a.spans.length} spans under lean, ${b.spans.length} under upstream):\n${diff}\n\n${output}`);
}

describe('our server instrumentation exports what instrumentation-http exports', { concurrency: 2 }, () => {
  for (const spec of APPS) {
    test(`${spec.app} under --${spec.mode}`, { timeout: 60000 }, async () => {
      const runs = await Promise.all(Object.keys(MODES).map((mode) => runUnder(spec, mode)));
      const output = runs.map((r) => r.output).join('\n');
      for (const r of runs) {
        assert.equal(r.res.code, 0, output);
        if (typeof spec.stdout === 'string') assert.equal(r.res.stdout, `${spec.stdout}\n`, output);
        else assert.match(r.res.stdout, spec.stdout, output);
        assert.match(r.res.stderr, SAID[r.mode], `${r.mode}: who traces incoming requests\n${output}`);
      }
      const [a, b] = await exportsOf(runs);
      for (const [r, c] of [[runs[0], a], [runs[1], b]]) {
        const labels = c.spans.map((x) => x.span);
        for (const want of spec.spans ?? []) assert.ok(labels.includes(want), `${r.mode}: no span "${want}" among\n  ${labels.join('\n  ')}`);
        const servers = c.spans.filter((s) => s.kind === 'SPAN_KIND_SERVER');
        assert.ok(servers.length > 0, `${r.mode}: a server span`);
        if (spec.route) assert.ok(servers.some((s) => s.attributes['http.route'] !== undefined && s.name === `GET ${s.attributes['http.route']}`), `${r.mode}: a server span renamed by its http.route\n${output}`);
        if (spec.client) {
          // GET /users/42 > its http.get client span > /leaf's server span, in one trace.
          const [outer, client, leaf] = ['GET > GET', 'GET > GET > GET', 'GET > GET > GET > GET'].map((l) => c.spans.find((s) => s.span === l));
          assert.equal(outer.kind, 'SPAN_KIND_SERVER');
          assert.equal(outer.attributes['url.path'], '/users/42');
          assert.equal(outer.attributes['url.query'], 'sig=REDACTED&x=1');
          assert.deepEqual(outer.attributes['http.request.header.x-test-id'], ['t1'], `${r.mode}: the header the environment asked for`);
          assert.equal(client.kind, 'SPAN_KIND_CLIENT');
          assert.equal(client.scope, '@opentelemetry/instrumentation-http');
          assert.equal(leaf.kind, 'SPAN_KIND_SERVER');
          assert.equal(leaf.attributes['url.path'], '/leaf');
          assert.ok(outer.trace === client.trace && client.trace === leaf.trace, 'one trace');
          assert.deepEqual(
            servers.map((s) => `${s.attributes['url.path']} ${s.attributes['http.response.status_code']} ${s.status.code}`).sort(),
            ['/fail 500 STATUS_CODE_ERROR', '/leaf 200 STATUS_CODE_UNSET', '/missing 404 STATUS_CODE_UNSET', '/users/42 200 STATUS_CODE_UNSET'],
            `${r.mode}: /health ignored (OTEL_NODE_INSTRUMENTATION_HTTP_IGNORE_INCOMING_PATHS)`,
          );
        }
      }
      assertSame(spec.app, runs, a, b, output);
    });
  }
});

describe('a handler that throws synchronously', { concurrency: 2 }, () => {
  for (const [mode, app] of [
    ['require', 'http-throws.cjs'],
    ['import', 'http-throws.mjs'],
  ]) {
    test(`${app} under --${mode}: the process fails as without us, the server span ends with the exception`, { timeout: 60000 }, async () => {
      const runs = await Promise.all(Object.keys(MODES).map((m) => runUnder({ app, mode }, m)));
      const output = runs.map((r) => r.output).join('\n');
      for (const r of runs) {
        assert.equal(r.res.code, 1, output);
        assert.match(r.res.stderr, /TypeError: handler failed\n/, output);
        assert.match(r.res.stderr, SAID[r.mode], output);
      }
      const [a, b] = await exportsOf(runs);
      for (const [r, c] of [[runs[0], a], [runs[1], b]]) {
        const server = c.spans.find((s) => s.kind === 'SPAN_KIND_SERVER');
        assert.ok(server, `${r.mode}: the server span was sent at exit\n${output}`);
        // Its parent is the app's client span, never ended (the process died first): another
        // id each run. The stack's frames below the app's handler are each instrumentation's own.
        server.parent = server.parent?.startsWith('remote ') ? 'remote: the unexported client span' : server.parent;
        server.trace = 'that span\'s trace';
        for (const e of server.events) e.attributes['exception.stacktrace'] = e.attributes['exception.stacktrace']?.split('\n').slice(0, 2).join('\n');
        assert.deepEqual(server.status, { code: 'STATUS_CODE_ERROR', message: 'handler failed' });
        assert.equal(server.attributes['error.type'], 'TypeError');
        assert.deepEqual(
          server.events.map((e) => `${e.name} ${e.attributes['exception.type']} ${e.attributes['exception.message']}`),
          ['exception TypeError handler failed'],
        );
      }
      assertSame(app, runs, a, b, output);
    });
  }
});
