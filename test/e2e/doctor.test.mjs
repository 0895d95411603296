// otel-instrument doctor: each diagnosis has a fixture that produces it, and the finding and exit
// code are asserted; a healthy setup gets a clean report and exit 0. Receivers on 127.0.0.1.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startReceiver } from '../helpers/otlp.mjs';
import { ROOT, runNode } from '../helpers/run.mjs';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'doctor');
const BIN = join(ROOT, 'bin', 'otel-instrument.js');
const REGISTER_CJS = join(ROOT, 'register', 'index.cjs');

/** Runs `otel-instrument doctor --json [args]` in a fixture; resolves with exit code and the parsed report. */
async function doctor(fixture, args, env = {}) {
  const { code, stdout, stderr } = await runNode([], BIN, { args: ['doctor', '--json', ...args], cwd: join(FIXTURES, fixture), env, timeoutMs: 40000 });
  let report;
  try {
    report = JSON.parse(stdout);
  } catch {
    throw new Error(`doctor printed no JSON (exit ${code}):\n${stdout}\n${stderr}`);
  }
  return { code, report, stderr, ids: (sev) => report.findings.filter((f) => f.severity === sev).map((f) => f.id) };
}

const run = (app) => ['--timeout', '15', '--', process.execPath, app];
const tracesOnly = (endpoint, extra = {}) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_NODE_RESOURCE_DETECTORS: 'none', ...extra });

let receiver;
/** A receiver that wants `authorization: Bearer right`, else 401, as a SaaS backend does. */
let authServer;
let authUrl;
/** A port nothing listens on: listened on, then closed. */
let closedUrl;

before(async () => {
  receiver = await startReceiver();
  authServer = createServer((req, res) => {
    req.resume();
    req.on('end', () => (req.headers.authorization === 'Bearer right' ? res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end() : res.writeHead(401).end('unauthorized')));
  });
  await new Promise((r) => authServer.listen(0, '127.0.0.1', r));
  authUrl = `http://127.0.0.1:${authServer.address().port}`;
  const probe = createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  closedUrl = `http://127.0.0.1:${probe.address().port}`;
  await new Promise((r) => probe.close(r));
});

after(async () => {
  await receiver?.close();
  await new Promise((r) => authServer?.close(r));
});

test('healthy: a clean report, instrumentations applied, spans exported, exit 0', async () => {
  const { code, report, ids } = await doctor('healthy', run('app.cjs'), tracesOnly(receiver.httpUrl));
  assert.deepEqual(ids('error'), [], JSON.stringify(report.findings, null, 1));
  assert.deepEqual(ids('warning'), []);
  assert.equal(code, 0);
  assert.equal(report.ok, true);
  assert.ok(report.findings.some((f) => f.id === 'endpoint-ok' && f.message.includes('/v1/traces')));
  assert.ok(report.findings.some((f) => f.id === 'applied' && /instrumentation-http@[\d.]+ patched http; incoming requests: diagnostics_channel http\.server\.request\.start/.test(f.message)), JSON.stringify(report.findings, null, 1));
  const exported = report.findings.find((f) => f.id === 'exported');
  assert.match(exported?.message ?? '', /traces: [1-9]\d* spans exported/);
  // The spans did arrive: the doctor's count is what the receiver got.
  assert.ok(receiver.spans().length >= 2);
  // The JSON carries the process's startup report too.
  assert.equal(report.run.reports.length, 1);
  assert.equal(report.run.reports[0].instrumentations.find((i) => i.name === 'http').status, 'applied');
});

test('a module loaded before the hook: loaded-before-hook names it, exit 1', async () => {
  const { code, report } = await doctor('early', run('app.cjs'), tracesOnly(receiver.httpUrl, { NODE_OPTIONS: `--require ${join(FIXTURES, 'early', 'early.cjs')}` }));
  const f = report.findings.find((x) => x.id === 'loaded-before-hook');
  assert.ok(f, JSON.stringify(report.findings, null, 1));
  assert.equal(f.severity, 'error');
  assert.match(f.message, /^express was loaded before otel-autoinstrument started/);
  assert.equal(code, 1);
});

test('an ES module app under --require: esm-under-require (a warning: our hook still patches it), exit 0', async () => {
  const { code, report, ids } = await doctor('esm', run('app.mjs'), tracesOnly(receiver.httpUrl, { NODE_OPTIONS: `--require ${REGISTER_CJS}` }));
  const f = report.findings.filter((x) => x.id === 'esm-under-require');
  assert.ok(f.length >= 1, JSON.stringify(report.findings, null, 1));
  assert.ok(f.every((x) => x.severity === 'warning'));
  assert.match(f[0].fix, /--import otel-autoinstrument\/register/);
  // And the run shows what --require still gave an ES module app here.
  assert.ok(report.findings.some((x) => x.id === 'applied' && / patched http/.test(x.message)));
  assert.deepEqual(ids('error'), []);
  assert.equal(code, 0);
});

test('an unsupported library version: unsupported-version, from node_modules and from the run, exit 1', async () => {
  const { code, report } = await doctor('unsupported', run('app.cjs'), tracesOnly(receiver.httpUrl));
  const found = report.findings.filter((x) => x.id === 'unsupported-version');
  assert.equal(found.length, 2, JSON.stringify(report.findings, null, 1));
  assert.match(found[0].message, /^pg@7\.0\.0: pg 7\.0\.0 is outside @opentelemetry\/instrumentation-pg [\d.]+'s supported range/);
  assert.match(found[1].message, /instrumentation-pg@[\d.]+ loaded but patched nothing: pg 7\.0\.0 is outside/);
  assert.equal(code, 1);
});

test('an http/protobuf exporter on a gRPC port: wrong-protocol, exit 1', async () => {
  const { code, report } = await doctor('healthy', [], tracesOnly(receiver.grpcUrl));
  const f = report.findings.find((x) => x.id === 'wrong-protocol');
  assert.match(f?.message ?? '', /traces http\/protobuf .*: the server does not speak HTTP\/1\.1 \(it looks like a gRPC port\)/, JSON.stringify(report.findings, null, 1));
  assert.equal(code, 1);
});

test('a grpc exporter on an HTTP/1.1 port: wrong-protocol the other way, exit 1', async () => {
  const { code, report } = await doctor('healthy', [], tracesOnly(receiver.httpUrl, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }));
  const f = report.findings.find((x) => x.id === 'wrong-protocol');
  assert.match(f?.message ?? '', /traces grpc .*: the server does not speak HTTP\/2/, JSON.stringify(report.findings, null, 1));
  assert.equal(code, 1);
});

test('a grpc exporter on a gRPC port: endpoint-ok, exit 0', async () => {
  const { code, report } = await doctor('healthy', [], tracesOnly(receiver.grpcUrl, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }));
  assert.ok(report.findings.some((x) => x.id === 'endpoint-ok' && /gRPC receiver answered OK/.test(x.message)), JSON.stringify(report.findings, null, 1));
  assert.equal(code, 0);
});

test('an unreachable endpoint: endpoint-unreachable (connection refused), and the run counts the spans lost, exit 1', async () => {
  const { code, report } = await doctor('healthy', run('app.cjs'), tracesOnly(closedUrl, { OTEL_EXPORTER_OTLP_TIMEOUT: '500' }));
  const f = report.findings.find((x) => x.id === 'endpoint-unreachable');
  assert.match(f?.message ?? '', /traces http\/protobuf .*\/v1\/traces: connection refused/, JSON.stringify(report.findings, null, 1));
  // The spans lost at exit are in the report: the child writes it after the last loss count.
  const lost = report.findings.find((x) => x.id === 'export-failed');
  assert.match(lost?.message ?? '', /^traces: 2 spans failed to export \(.*connection refused\)$/, JSON.stringify(report.findings, null, 1));
  assert.ok(report.findings.some((x) => x.id === 'nothing-exported'));
  assert.equal(code, 1);
});

test('a bad auth header, the receiver answering 401: endpoint-auth, exit 1; the right one passes', async () => {
  const bad = await doctor('healthy', [], tracesOnly(authUrl, { OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer wrong' }));
  const f = bad.report.findings.find((x) => x.id === 'endpoint-auth');
  assert.match(f?.message ?? '', /the receiver refused the credentials \(HTTP 401\)/, JSON.stringify(bad.report.findings, null, 1));
  assert.match(f.fix, /OTEL_EXPORTER_OTLP_HEADERS/);
  // The secret is never printed.
  assert.doesNotMatch(JSON.stringify(bad.report), /wrong/);
  assert.equal(bad.code, 1);
  const good = await doctor('healthy', [], tracesOnly(authUrl, { OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer right' }));
  assert.equal(good.code, 0, JSON.stringify(good.report.findings, null, 1));
});

test('text output by default; a usage error exits 2', async () => {
  const text = await runNode([], BIN, { args: ['doctor'], cwd: join(FIXTURES, 'healthy'), env: tracesOnly(closedUrl), timeoutMs: 40000 });
  assert.equal(text.code, 1);
  assert.match(text.stdout, /^otel-autoinstrument [\d.]+, Node [\d.]+: 1 problem\(s\) that lose telemetry/);
  assert.match(text.stdout, /\nerror   endpoint-unreachable: traces http\/protobuf .*: connection refused\n {8}fix: /);
  const usage = await runNode([], BIN, { args: ['doctor', '--timeout', 'soon'] });
  assert.equal(usage.code, 2);
});

test('TLS: an untrusted certificate is a tls finding, exit 1; trusted with OTEL_EXPORTER_OTLP_CERTIFICATE it passes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'otel-doctor-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', 'key.pem', '-out', 'cert.pem'], { cwd: dir, stdio: 'ignore' });
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end());
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${server.address().port}`;
    try {
      const bad = await doctor('healthy', [], tracesOnly(url));
      const f = bad.report.findings.find((x) => x.id === 'tls');
      assert.match(f?.message ?? '', /traces http\/protobuf https:.*: TLS failed: .*self[- ]signed/i, JSON.stringify(bad.report.findings, null, 1));
      assert.equal(bad.code, 1);
      const good = await doctor('healthy', [], tracesOnly(url, { OTEL_EXPORTER_OTLP_CERTIFICATE: join(dir, 'cert.pem') }));
      assert.equal(good.code, 0, JSON.stringify(good.report.findings, null, 1));
    } finally {
      await new Promise((r) => server.close(r));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the doctor\'s SIGTERM during the app\'s exit flush: one flush, no second shutdown, the signal re-raised', async () => {
  // A backend that takes the requests and never answers: after "done" the app's beforeExit flush
  // waits on them, and the signal comes once both exports are out.
  const { createServer: createTcpServer } = await import('node:net');
  const held = new Set();
  let requests = 0;
  const hang = createTcpServer((s) => {
    held.add(s);
    s.on('data', (d) => (requests += (String(d).match(/^POST /gm) ?? []).length));
    s.on('error', () => undefined);
  });
  await new Promise((r) => hang.listen(0, '127.0.0.1', r));
  try {
    let signalled = false;
    const { code, signal, stderr } = await runNode(['--import', 'otel-autoinstrument/register'], join(FIXTURES, 'healthy', 'app.cjs'), {
      // Metrics too: upstream's MeterProvider is the one that warns on a second shutdown.
      env: tracesOnly(`http://127.0.0.1:${hang.address().port}`, { OTEL_EXPORTER_OTLP_TIMEOUT: '30000', OTEL_METRICS_EXPORTER: 'otlp' }),
      onStdout: (out, child) => {
        if (signalled || !out.includes('done')) return;
        signalled = true;
        void (async () => {
          while (requests < 2 && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
          child.kill('SIGTERM');
        })();
      },
    });
    assert.doesNotMatch(stderr, /shutdown may only be called once/);
    assert.ok(requests >= 2, `the flush's exports were out (${requests})`);
    // The process ended by the signal, not by the flush deadline: nothing was answered, nothing counted lost.
    assert.equal(signal, 'SIGTERM', `code ${code}: ${stderr}`);
    assert.doesNotMatch(stderr, /telemetry lost/);
  } finally {
    for (const s of held) s.destroy();
    hang.close();
  }
});

test('a command that starts no Node process with the hook: hook-not-loaded, exit 1', async () => {
  const { code, report } = await doctor('healthy', ['--timeout', '10', '--', 'true'], tracesOnly(receiver.httpUrl));
  const f = report.findings.find((x) => x.id === 'hook-not-loaded');
  assert.equal(f?.severity, 'error', JSON.stringify(report.findings, null, 1));
  assert.match(report.findings.find((x) => x.id === 'run').message, /exited with code 0; 0 Node process/);
  assert.equal(code, 1);
});
