// The promises to the host app: its exit code, its signals, its threads and its output stay its own.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
const service = (tag) => `hygiene-${tag}-${n++}`;
const spansOf = (svc) => receiver.spans().filter((s) => s.resource['service.name'] === svc);
const envFor = (svc, extra = {}) => ({ OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, ...extra });

for (const mode of ['require', 'import']) {
  test(`--${mode}: the app's own exit code is kept`, async () => {
    const svc = service('exit');
    const res = await runNode(REGISTER[mode], 'http-app.cjs', { args: ['3'], env: envFor(svc) });
    assert.equal(res.code, 3);
    assert.equal(res.stdout, 'status=200 body=hello /hello\n');
    assert.ok(await waitFor(() => spansOf(svc).length >= 2), 'spans flushed on normal exit');
  });

  test(`--${mode}: SIGTERM with no app handler flushes, then the process dies by SIGTERM`, async () => {
    const svc = service('sigterm');
    const res = await runNode(REGISTER[mode], 'server-app.cjs', {
      env: envFor(svc),
      onStdout: (out, child) => out.includes('ready') && child.kill('SIGTERM'),
    });
    assert.equal(res.signal, 'SIGTERM', `code=${res.code} stderr=${res.stderr}`);
    assert.ok(await waitFor(() => spansOf(svc).some((s) => s.kind === 'SPAN_KIND_SERVER')), 'server span flushed before exit');
  });

  test(`--${mode}: SIGTERM with the app's own handler: the app decides the exit code`, async () => {
    const svc = service('handler');
    const res = await runNode(REGISTER[mode], 'server-app.cjs', {
      env: envFor(svc, { APP_SIGTERM_EXIT: '7' }),
      onStdout: (out, child) => out.includes('ready') && child.kill('SIGTERM'),
    });
    assert.equal(res.code, 7);
    assert.equal(res.signal, null);
  });
}

test('SIGINT with no app handler ends the process by SIGINT', async () => {
  const res = await runNode(REGISTER.import, 'server-app.cjs', {
    env: envFor(service('sigint')),
    onStdout: (out, child) => out.includes('ready') && child.kill('SIGINT'),
  });
  assert.equal(res.signal, 'SIGINT', `code=${res.code}`);
});

test('--require and --import together start once: no duplicate spans', async () => {
  const svc = service('twice');
  const res = await runNode([...REGISTER.require, ...REGISTER.import], 'http-app.cjs', { env: envFor(svc) });
  assert.equal(res.code, 0, res.stderr);
  await waitFor(() => spansOf(svc).length >= 2);
  await new Promise((r) => setTimeout(r, 300));
  const kinds = spansOf(svc).map((s) => s.kind).sort();
  assert.deepEqual(kinds, ['SPAN_KIND_CLIENT', 'SPAN_KIND_SERVER']);
});

test('a worker thread starts no SDK of its own', async () => {
  const svc = service('worker');
  const res = await runNode(REGISTER.import, 'worker-app.cjs', { env: envFor(svc) });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, 'worker got: from main\n');
  assert.ok(await waitFor(() => spansOf(svc).some((s) => s.kind === 'SPAN_KIND_SERVER')));
  await new Promise((r) => setTimeout(r, 300));
  // The main thread's server saw the request; a second SDK in the worker would have sent a CLIENT span.
  assert.deepEqual(spansOf(svc).map((s) => s.kind), ['SPAN_KIND_SERVER']);
});

test('OTEL_SDK_DISABLED=true: the app runs, nothing is exported, nothing is printed', async () => {
  const svc = service('disabled');
  const res = await runNode(REGISTER.import, 'http-app.cjs', { env: envFor(svc, { OTEL_SDK_DISABLED: 'true' }) });
  assert.equal(res.code, 0);
  assert.equal(res.stderr, '');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(spansOf(svc).length, 0);
});

test('package-manager processes that inherit NODE_OPTIONS are skipped by default, instrumented on request', async () => {
  const svc = service('tool');
  const res = await runNode(REGISTER.require, 'tools/npm-cli.js', { env: envFor(svc) });
  assert.equal(res.code, 0);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(spansOf(svc).length, 0);
  const svc2 = service('tool-on');
  const res2 = await runNode(REGISTER.require, 'tools/npm-cli.js', { env: envFor(svc2, { OTEL_NODE_INCLUDE_PROCESSES: 'npm-cli' }) });
  assert.equal(res2.code, 0);
  assert.ok(await waitFor(() => spansOf(svc2).length >= 2));
  // An app's own process can be excluded by name too.
  const svc3 = service('excluded');
  const res3 = await runNode(REGISTER.require, 'http-app.cjs', { env: envFor(svc3, { OTEL_NODE_EXCLUDE_PROCESSES: 'http-app' }) });
  assert.equal(res3.code, 0);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(spansOf(svc3).length, 0);
});

test('laziness: an http-only app loads the http instrumentation and one exporter, nothing unrelated', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'otel-lazy-'));
  try {
    const out = join(dir, 'loaded.json');
    const svc = service('lazy');
    const res = await runNode(['--require', join(ROOT, 'test/fixtures/loaded-probe.cjs'), ...REGISTER.require], 'http-app.cjs', {
      env: envFor(svc, { LOADED_PROBE_OUT: out, OTEL_NODE_WARMUP_DELAY: '600000' }),
    });
    assert.equal(res.code, 0, res.stderr);
    assert.ok(await waitFor(() => spansOf(svc).length >= 2), 'the app was really instrumented');
    const files = JSON.parse(readFileSync(out, 'utf8'));
    const packages = new Set(files.map((f) => f.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1]).filter(Boolean));
    const instrumentations = [...packages].filter((p) => p.startsWith('@opentelemetry/instrumentation-')).sort();
    // runtime-node (on by default) starts with the warm-up, after this short process is gone.
    assert.deepEqual(instrumentations, ['@opentelemetry/instrumentation-http']);
    // The bundled extras (@fastify/otel) wait for their library like the rest.
    assert.ok(!packages.has('@fastify/otel'), '@fastify/otel was loaded');
    // http/protobuf is the default; the proto metric exporter builds on the http one.
    assert.ok(packages.has('@opentelemetry/exporter-trace-otlp-proto'));
    for (const p of [
      '@opentelemetry/exporter-trace-otlp-http',
      '@opentelemetry/exporter-trace-otlp-grpc',
      '@opentelemetry/exporter-metrics-otlp-grpc',
      '@opentelemetry/exporter-logs-otlp-proto',
      '@opentelemetry/exporter-logs-otlp-http',
      '@opentelemetry/exporter-logs-otlp-grpc',
      '@opentelemetry/exporter-zipkin',
      '@opentelemetry/exporter-prometheus',
      '@opentelemetry/auto-instrumentations-node',
      '@opentelemetry/sdk-node',
      '@grpc/grpc-js',
    ])
      assert.ok(!packages.has(p), `${p} was loaded`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('laziness: an Express app that starts and stops without a request loads instrumentations but no SDK', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'otel-lazy-'));
  try {
    const out = join(dir, 'loaded.json');
    const res = await runNode(['--require', join(ROOT, 'test/fixtures/loaded-probe.cjs'), ...REGISTER.require], 'start-exit-app.cjs', {
      // The warm-up would build the SDK of an app slower than its delay (a busy machine): out of reach here.
      env: envFor(service('startexit'), { LOADED_PROBE_OUT: out, OTEL_NODE_WARMUP_DELAY: '600000' }),
    });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'started and stopped\n');
    const files = JSON.parse(readFileSync(out, 'utf8')).join('\n');
    assert.ok(files.includes('@opentelemetry/instrumentation-express/'), 'express instrumentation loaded');
    for (const p of ['sdk-trace', 'sdk-metrics', 'sdk-logs', 'resources', 'exporter-']) assert.ok(!files.includes(`@opentelemetry/${p}`), `${p} loaded`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a process that lives past the warm-up exports runtime metrics, recorded through observables', async () => {
  const svc = service('warm');
  const res = await runNode(REGISTER.import, '-e', {
    args: ['setTimeout(() => {}, 1500)'],
    env: envFor(svc, { OTEL_NODE_INCLUDE_PROCESSES: '' }),
  });
  assert.equal(res.code, 0, res.stderr);
  const names = await waitFor(() => {
    const mine = [];
    for (const m of receiver.metrics)
      for (const rm of m.resourceMetrics ?? [])
        if (rm.resource?.attributes?.['service.name'] === svc) for (const sm of rm.scopeMetrics ?? []) for (const x of sm.metrics ?? []) mine.push(x.name);
    return mine.length > 0 && mine;
  });
  assert.ok(names && names.some((n) => n.startsWith('v8js.') || n.startsWith('nodejs.')), `metrics: ${names}`);
});

test('laziness: an app that resolves no instrumented module loads no SDK at all', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'otel-lazy-'));
  try {
    const out = join(dir, 'loaded.json');
    const res = await runNode(['--require', join(ROOT, 'test/fixtures/loaded-probe.cjs'), ...REGISTER.require], '-e', {
      args: ['console.log(1 + 1)'],
      env: { LOADED_PROBE_OUT: out, OTEL_METRICS_EXPORTER: 'none', OTEL_NODE_WARMUP_DELAY: '600000' },
    });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, '2\n');
    const files = JSON.parse(readFileSync(out, 'utf8')).join('\n');
    for (const p of ['sdk-trace', 'sdk-metrics', 'sdk-logs', 'exporter-', 'instrumentation-']) assert.ok(!files.includes(`@opentelemetry/${p}`), `${p} loaded`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const mode of ['require', 'import']) {
  test(`--${mode}: node -e and node -p work (import-in-the-middle's eval-parent bug is worked around)`, async () => {
    const e = await runNode(REGISTER[mode], '-e', { args: ['console.log(require("zlib").constants.Z_OK + 1)'] });
    assert.equal(e.code, 0, e.stderr);
    assert.equal(e.stdout, '1\n');
    const p = await runNode(REGISTER[mode], '-p', { args: ['require("node:module").builtinModules.includes("fs")'] });
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stdout, 'true\n');
  });
}

test('an unsupported Node prints one line and runs the app unchanged', { skip: !existsSync('/usr/bin/node') && 'no system node at /usr/bin/node' }, async () => {
  const { spawn } = await import('node:child_process');
  const version = await new Promise((res) => {
    const c = spawn('/usr/bin/node', ['-p', 'process.versions.node']);
    let o = '';
    c.stdout.on('data', (d) => (o += d));
    c.on('close', () => res(o.trim()));
  });
  const [maj, min] = version.split('.').map(Number);
  if (maj > 22 || (maj === 22 && min >= 15)) return; // the machine's node is supported: nothing to check
  const { cleanEnv, APPS } = await import('../helpers/run.mjs');
  for (const flags of [REGISTER.require, REGISTER.import]) {
    const res = await new Promise((resolve) => {
      const c = spawn('/usr/bin/node', [...flags, 'http-app.cjs', '4'], { cwd: APPS, env: cleanEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl }) });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      c.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(res.code, 4);
    assert.equal(res.stdout, 'status=200 body=hello /hello\n');
    assert.equal(res.stderr, `otel-autoinstrument: warning: Node ${version} is not supported (need >= 22.15); running without instrumentation\n`);
  }
});

test('OTEL_LOG_LEVEL=debug prints the effective configuration with sources, secrets redacted', async () => {
  const res = await runNode(REGISTER.require, '-e', { args: ['0'], env: { OTEL_LOG_LEVEL: 'debug', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=s3cret', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' } });
  assert.equal(res.code, 0);
  assert.match(res.stderr, /^otel-autoinstrument: debug: config: OTEL_EXPORTER_OTLP_HEADERS=\[REDACTED\] \(env\)$/m);
  assert.match(res.stderr, /^otel-autoinstrument: debug: config: OTEL_TRACES_SAMPLER=parentbased_always_on \(default\)$/m);
  assert.doesNotMatch(res.stderr, /s3cret/);
});

test('a target module loaded before the hook gets one warning naming it; the app still works', async () => {
  const res = await runNode(['--require', 'express', ...REGISTER.require], 'express-app.cjs', { env: { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, 'status=200 body={"id":"42"}\n');
  const lines = res.stderr.split('\n').filter(Boolean);
  assert.equal(lines.filter((l) => l.includes('express was loaded before otel-autoinstrument started')).length, 1, res.stderr);
  assert.ok(lines.every((l) => l.includes('was loaded before otel-autoinstrument started')), res.stderr);
  const clean = await runNode(REGISTER.require, 'express-app.cjs', { env: { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' } });
  assert.equal(clean.stderr, '');
});

test("the bounded exit flush never cuts short the app's own beforeExit work", async () => {
  // An endpoint that accepts connections and never answers: the export hangs until its timeout.
  const { createServer } = await import('node:net');
  const sockets = new Set();
  const hang = createServer((s) => sockets.add(s));
  await new Promise((r) => hang.listen(0, '127.0.0.1', r));
  try {
    const res = await runNode(REGISTER.require, 'before-exit-app.cjs', {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${hang.address().port}`, OTEL_EXPORTER_OTLP_TIMEOUT: '7000', OTEL_METRICS_EXPORTER: 'none', OTEL_LOG_LEVEL: 'none' },
    });
    assert.equal(res.code, 0);
    assert.equal(res.stdout, 'main done\napp cleanup done\n');
  } finally {
    for (const s of sockets) s.destroy();
    hang.close();
  }
});
