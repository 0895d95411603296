// otel-instrument, spawned as a user would, wrapping real commands.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { ROOT, runNode } from '../helpers/run.mjs';

const BIN = join(ROOT, 'bin/otel-instrument.js');
// Commands the CLI starts find this test run's node first, whatever the machine's node is.
const PATH = `${dirname(process.execPath)}:${process.env.PATH}`;

let receiver;
let tmp;
before(async () => {
  receiver = await startReceiver();
  tmp = mkdtempSync(join(tmpdir(), 'otel-cli-'));
});
after(async () => {
  await receiver.close();
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
const service = (tag) => `cli-${tag}-${n++}`;
const spansOf = (svc) => receiver.spans().filter((s) => s.resource['service.name'] === svc);
const cli = (args, opts = {}) => runNode([], BIN, { ...opts, args, env: { PATH, npm_config_update_notifier: 'false', ...opts.env } });

test('otel-instrument node app.js: flags in both spellings reach the app, exit code mirrored', async () => {
  const svc = service('plain');
  const res = await cli(['--service-name', svc, '--exporter_otlp_endpoint', receiver.httpUrl, '--resource_attributes', 'team=cli', 'node', 'http-app.cjs', '3']);
  assert.equal(res.code, 3, res.stderr);
  assert.equal(res.stdout, 'status=200 body=hello /hello\n');
  assert.ok(await waitFor(() => spansOf(svc).length >= 2));
  assert.equal(spansOf(svc)[0].resource.team, 'cli');
});

test('flags win over the environment', async () => {
  const svc = service('wins');
  const res = await cli(['--service-name', svc, 'node', 'http-app.cjs'], { env: { OTEL_SERVICE_NAME: 'from-env', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl } });
  assert.equal(res.code, 0, res.stderr);
  assert.ok(await waitFor(() => spansOf(svc).length >= 2));
  assert.equal(receiver.spans().filter((s) => s.resource['service.name'] === 'from-env').length, 0);
});

test('otel-instrument npm start: the app is instrumented, npm itself is not', async () => {
  const svc = service('npm');
  const res = await cli(['--service-name', svc, '--exporter-otlp-endpoint', receiver.httpUrl, '--log-level', 'debug', 'npm', 'start', '--silent'], {
    cwd: join(ROOT, 'test/fixtures/npm-project'),
    timeoutMs: 60000,
  });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /status=200 body=hello \/hello/);
  assert.match(res.stderr, /not starting: process "npm(-cli)?" is in OTEL_NODE_EXCLUDE_PROCESSES/);
  assert.ok(await waitFor(() => spansOf(svc).length >= 2));
  const pids = new Set(spansOf(svc).map((s) => s.resource['process.pid']));
  assert.equal(pids.size, 1, 'all spans from the app process');
});

test('a child forked by the app is instrumented with its own SDK and joins the trace', async () => {
  const svc = service('fork');
  const res = await cli(['--service-name', svc, '--exporter-otlp-endpoint', receiver.httpUrl, 'node', 'fork-app.cjs']);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, 'child PID got 200\nchild exited 0\n');
  assert.ok(await waitFor(() => spansOf(svc).length >= 2));
  await new Promise((r) => setTimeout(r, 300));
  const spans = spansOf(svc);
  const server = spans.filter((s) => s.kind === 'SPAN_KIND_SERVER');
  const client = spans.filter((s) => s.kind === 'SPAN_KIND_CLIENT');
  assert.equal(server.length, 1);
  assert.equal(client.length, 1);
  assert.notEqual(client[0].resource['process.pid'], server[0].resource['process.pid']);
  assert.equal(server[0].parentSpanId, client[0].spanId);
});

test('a worker thread under the CLI starts no second SDK', async () => {
  const svc = service('worker');
  const res = await cli(['--service-name', svc, '--exporter-otlp-endpoint', receiver.httpUrl, 'node', 'worker-app.cjs']);
  assert.equal(res.code, 0, res.stderr);
  assert.ok(await waitFor(() => spansOf(svc).length >= 1));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(spansOf(svc).map((s) => s.kind), ['SPAN_KIND_SERVER']);
});

test('existing NODE_OPTIONS with a quoted path containing spaces is kept, the hook added once', async () => {
  const dir = join(tmp, 'dir with space');
  mkdirSync(dir, { recursive: true });
  const pre = join(dir, 'pre.cjs');
  writeFileSync(pre, "console.log('preloaded');\n");
  const existing = `--require "${pre}" --max-old-space-size=256`;
  const res = await cli(['node', 'print-node-options.cjs'], { env: { NODE_OPTIONS: existing, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' } });
  assert.equal(res.code, 0, res.stderr);
  // The user's NODE_OPTIONS applies to the CLI's own node too: preloaded twice.
  assert.equal(res.stdout, `preloaded\npreloaded\nNODE_OPTIONS=${existing} --import ${join(ROOT, 'register/index.mjs')}\n`);
});

test('a hook already in NODE_OPTIONS is not added twice, and the CLI process itself starts no SDK', async () => {
  const existing = '--import otel-autoinstrument/register';
  const res = await cli(['node', 'print-node-options.cjs'], { env: { NODE_OPTIONS: existing, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOG_LEVEL: 'debug' } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, `NODE_OPTIONS=${existing}\n`);
  assert.match(res.stderr, /not starting: process "otel-instrument" is in OTEL_NODE_EXCLUDE_PROCESSES/);
});

test('SIGTERM to the CLI is relayed; the child dies by it and the CLI exits 143', async () => {
  const svc = service('sigterm');
  const res = await cli(['--service-name', svc, '--exporter-otlp-endpoint', receiver.httpUrl, 'node', 'server-app.cjs'], {
    onStdout: (out, child) => out.includes('ready') && child.kill('SIGTERM'),
  });
  assert.equal(res.code, 143, res.stderr);
  assert.ok(await waitFor(() => spansOf(svc).some((s) => s.kind === 'SPAN_KIND_SERVER')), 'the child flushed before dying');
});

test('a missing command: one line, exit 127; no command: exit 2', async () => {
  const res = await cli(['no-such-command-xyz', '--flag']);
  assert.equal(res.code, 127);
  assert.equal(res.stderr, 'otel-instrument: no-such-command-xyz: command not found\n');
  const none = await cli([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /missing the command/);
  const bad = await cli(['--no-such-option', 'node']);
  assert.equal(bad.code, 2);
});

test('options after the command belong to the command', async () => {
  const res = await cli(['node', '-p', '"--service-name" + 1'], { env: { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, '--service-name1\n');
});

test('--print-config: sources, redacted secrets, the hook and the lazy instrumentations; runs nothing', async () => {
  const res = await cli(['--print-config', '--exporter-otlp-headers', 'api-key=s3cret', '--traces-exporter', 'jaeger', 'node', 'http-app.cjs'], { env: { OTEL_SERVICE_NAME: 'svc-env' } });
  assert.equal(res.code, 0, res.stderr);
  assert.doesNotMatch(res.stdout, /s3cret/);
  assert.doesNotMatch(res.stdout, /status=200/);
  assert.match(res.stdout, /^OTEL_EXPORTER_OTLP_HEADERS=\[REDACTED\] \(flag\)$/m);
  assert.match(res.stdout, /^OTEL_SERVICE_NAME=svc-env \(env\)$/m);
  assert.match(res.stdout, /^OTEL_TRACES_SAMPLER=parentbased_always_on \(default\)$/m);
  assert.match(res.stdout, /^OTEL_TRACES_EXPORTER="jaeger" has "jaeger", not one of otlp, console, none, zipkin; using the default "otlp"$/m);
  assert.match(res.stdout, /^NODE_OPTIONS gets: --import .*register\/index\.mjs$/m);
  assert.match(res.stdout, /^express +express$/m);
  assert.match(res.stdout, /^# would run: node http-app\.cjs$/m);
});

test('--help lists the options grouped, with defaults', async () => {
  const res = await cli(['--help']);
  assert.equal(res.code, 0);
  assert.match(res.stdout, /^Exporters:$/m);
  assert.match(res.stdout, /--traces-exporter <value> +OTEL_TRACES_EXPORTER: list of otlp\|console\|none\|zipkin \(default: otlp\)/);
});
