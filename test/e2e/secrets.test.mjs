// Secrets never leave the process in clear: every variable the table marks sensitive, every
// header value and URL userinfo get a distinct secret, and each surface that can quote them is
// grepped: the doctor (text, --json, with a command's reports), --print-config, export-failure
// warnings, debug logs, the startup report, loss reports and the self-metrics that reach a backend.
// The backend that refuses the exports echoes what it was sent, as some do in their error bodies.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TABLE } from '../../dist/config/table.js';
import { startReceiver } from '../helpers/otlp.mjs';
import { REGISTER, ROOT, APPS, runNode } from '../helpers/run.mjs';

const BIN = join(ROOT, 'bin', 'otel-instrument.js');
const APP = join(APPS, 'exit-app.cjs');
/** Ends on its own (the shutdown flush runs, so failed exports are reported): one server, one client span. */
const NATURAL_APP = join(ROOT, 'test', 'fixtures', 'doctor', 'self-metrics-app.cjs');

/** Letters and digits only, so that no transformation (lower-casing, error.type's underscores) hides one. */
const secret = (tag) => `zq${tag.toLowerCase().replace(/[^a-z0-9]/g, '')}s3cret`;

let receiver;
let echo;
let echoUrl;
let closedUrl;
/** Every secret given to the processes. */
const secrets = [];
/** The environment that holds them, for an endpoint `base` (host:port). */
let secretEnv;

before(async () => {
  receiver = await startReceiver();
  echo = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(401, { 'content-type': 'text/plain' }).end(`refused ${req.url} ${JSON.stringify(req.headers)}`));
  });
  await new Promise((r) => echo.listen(0, '127.0.0.1', r));
  echoUrl = `http://127.0.0.1:${echo.address().port}`;
  const probe = createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  closedUrl = `http://127.0.0.1:${probe.address().port}`;
  await new Promise((r) => probe.close(r));

  const sensitive = Object.entries(TABLE).filter(([, spec]) => spec.sensitive).map(([name]) => name);
  assert.ok(sensitive.includes('OTEL_EXPORTER_OTLP_HEADERS') && sensitive.length >= 4, sensitive.join());
  secretEnv = (base, metricsBase = base) => {
    const env = {};
    for (const name of sensitive) {
      const a = secret(`${name}a`);
      const b = secret(`${name}b`);
      secrets.push(a, b);
      env[name] = `authorization=Bearer%20${a},x-api-key=${b}`;
    }
    const user = secret('user');
    const pass = secret('password');
    const token = secret('token');
    const muser = secret('metricsuser');
    secrets.push(user, pass, token, muser);
    const host = (u) => new URL(u).host;
    return {
      ...env,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://${user}:${pass}@${host(base)}`,
      // The user part alone is the secret too (a token as username).
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://${token}@${host(base)}/v1/traces`,
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `http://${muser}:x@${host(metricsBase)}/v1/metrics`,
    };
  };
});

after(async () => {
  await receiver?.close();
  await new Promise((r) => echo?.close(r));
});

/** Fails naming the secret and where it was seen. */
function assertNoSecret(text, where) {
  const lower = text.toLowerCase();
  for (const s of secrets) assert.ok(!lower.includes(s), `${where} shows the secret ${s}:\n${text}`);
}

test('the doctor, text: endpoint findings show the endpoints without userinfo or header values', async () => {
  const res = await runNode([], BIN, { args: ['doctor'], env: { ...secretEnv(closedUrl), OTEL_NODE_RESOURCE_DETECTORS: 'none' }, timeoutMs: 40000 });
  assert.match(res.stdout, /endpoint-unreachable/, res.stdout);
  assert.match(res.stdout, /REDACTED@127\.0\.0\.1/);
  assertNoSecret(res.stdout + res.stderr, 'doctor text');
});

test('the doctor, --json, running a command: findings and the command\'s startup reports', async () => {
  const res = await runNode([], BIN, {
    args: ['doctor', '--json', '--timeout', '20', '--', process.execPath, APP],
    env: { ...secretEnv(echoUrl), OTEL_NODE_RESOURCE_DETECTORS: 'none', OTEL_LOGS_EXPORTER: 'none', APP_WAIT_MS: '0' },
    timeoutMs: 40000,
  });
  const report = JSON.parse(res.stdout);
  assert.ok(report.run?.reports?.length >= 1, res.stdout);
  assert.ok(report.run.reports[0].config.some((l) => l.startsWith('OTEL_EXPORTER_OTLP_HEADERS=[REDACTED]')));
  assert.ok(report.findings.some((f) => /401|refused|unauthori[sz]ed/i.test(f.message)), JSON.stringify(report.findings, null, 1));
  assertNoSecret(res.stdout + res.stderr, 'doctor --json');
});

test('--print-config', async () => {
  const res = await runNode([], BIN, { args: ['--print-config', 'node', 'app.js'], env: secretEnv(closedUrl) });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/REDACTED@/m);
  assertNoSecret(res.stdout + res.stderr, '--print-config');
});

test('an app at debug level with a backend that refuses and echoes: logs, startup report, loss report and self-metrics', async () => {
  receiver.clear();
  const res = await runNode(REGISTER.require, NATURAL_APP, {
    args: ['0'],
    env: {
      ...secretEnv(echoUrl, receiver.httpUrl),
      OTEL_LOG_LEVEL: 'debug',
      OTEL_NODE_SELF_METRICS_ENABLED: 'true',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_NODE_RUNTIME_METRICS: 'none',
      OTEL_NODE_RESOURCE_DETECTORS: 'none',
    },
  });
  assert.equal(res.code, 0, res.stderr);
  // Each surface was there to be grepped.
  assert.match(res.stderr, /debug: config: OTEL_EXPORTER_OTLP_ENDPOINT=/);
  assert.match(res.stderr, /info: .*instrumentation/i, 'the startup report');
  assert.match(res.stderr, /401/, 'the export failure');
  assert.match(res.stderr, /lost|not sent/, 'the loss report');
  assertNoSecret(res.stderr, 'the app\'s stderr');
  const selfPoints = JSON.stringify(receiver.metrics);
  assert.match(selfPoints, /error\.type/, 'the failed exports reached the self-metrics');
  assertNoSecret(selfPoints, 'the self-metrics received');
});

test('the Zipkin exporter\'s endpoint userinfo, in the export failure', async () => {
  const user = secret('zipkinuser');
  const pass = secret('zipkinpass');
  secrets.push(user, pass);
  const res = await runNode(REGISTER.require, NATURAL_APP, {
    args: ['0'],
    env: {
      OTEL_TRACES_EXPORTER: 'zipkin',
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: `http://${user}:${pass}@${new URL(closedUrl).host}/api/v2/spans`,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_LOG_LEVEL: 'debug',
      OTEL_NODE_RESOURCE_DETECTORS: 'none',
    },
  });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /Zipkin exporter \(http:\/\/REDACTED@/);
  assertNoSecret(res.stderr, 'the Zipkin run\'s stderr');
});
