// How the process ends is the app's, with or without us: exit codes, signals and the first lines
// of an uncaught exception's report are compared with the same app run without the launcher.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
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
const env = (svc) => ({ OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_BSP_SCHEDULE_DELAY: '100' });
const head = (stderr) => stderr.split('\n').filter((l) => !l.startsWith('otel-autoinstrument')).slice(0, 5).join('\n');

for (const mode of ['require', 'import']) {
  for (const how of ['exit', 'throw']) {
    test(`--${mode}: ${how === 'exit' ? 'process.exit(3)' : 'an uncaught exception'} ends the process as without us; spans ended before it are flushed`, async () => {
      const svc = `signals-${how}-${n++}`;
      const plain = await runNode([], 'exit-app.cjs', { args: [how], env: env(svc) });
      const ours = await runNode(REGISTER[mode], 'exit-app.cjs', { args: [how], env: env(svc) });
      assert.equal(ours.code, plain.code);
      assert.equal(ours.code, how === 'exit' ? 3 : 1);
      assert.equal(ours.signal, plain.signal);
      assert.equal(ours.stdout, plain.stdout);
      assert.equal(head(ours.stderr), head(plain.stderr));
      // Nothing of ours, but on a loaded machine the exit send's answer may outlast its 1.5 s
      // bound: then it says the delivery is unconfirmed, and the spans must still have arrived.
      const lines = ours.stderr.split('\n').filter((l) => l.startsWith('otel-autoinstrument'));
      assert.ok(lines.every((l) => l.includes('telemetry not confirmed at exit')) && lines.length <= 1, ours.stderr);
      assert.ok(await waitFor(() => spansOf(svc).some((s) => s.kind === 'SPAN_KIND_SERVER')), 'spans exported before the exit arrived');
    });
  }
}

test('SIGTERM during an export to a backend that hangs: the process still dies by SIGTERM within the flush deadline', async () => {
  const { createServer } = await import('node:net');
  const sockets = new Set();
  const hang = createServer((s) => sockets.add(s));
  await new Promise((r) => hang.listen(0, '127.0.0.1', r));
  try {
    const t0 = Date.now();
    let killedAt = 0;
    const res = await runNode(REGISTER.import, 'server-app.cjs', {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${hang.address().port}`, OTEL_BSP_SCHEDULE_DELAY: '100' },
      onStdout: (out, child) => out.includes('ready') && !killedAt && setTimeout(() => ((killedAt = Date.now()), child.kill('SIGTERM')), 500),
    });
    assert.equal(res.signal, 'SIGTERM', `code=${res.code} ${res.stderr}`);
    assert.ok(Date.now() - killedAt < 6500, `took ${Date.now() - killedAt} ms after SIGTERM (started ${t0})`);
  } finally {
    for (const s of sockets) s.destroy();
    hang.close();
  }
});

// With the default 5 s batch delay the spans are still queued when the app ends: they are sent
// synchronously at 'exit' (src/sdk/exit-send.ts).
for (const [mode, how, protocol] of [
  ['require', 'exit', 'http/protobuf'],
  ['import', 'throw', 'http/protobuf'],
  ['require', 'throw', 'http/json'],
  ['import', 'exit', 'http/json'],
]) {
  test(`--${mode}: spans still queued at ${how === 'exit' ? 'process.exit(3)' : 'an uncaught exception'} are sent before the process ends (${protocol})`, async () => {
    const svc = `exit-send-${how}-${n++}`;
    const e = { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_METRICS_EXPORTER: 'none', APP_WAIT_MS: '0' };
    const plain = await runNode([], 'exit-app.cjs', { args: [how], env: e });
    const ours = await runNode(REGISTER[mode], 'exit-app.cjs', { args: [how], env: e });
    assert.equal(ours.code, plain.code);
    assert.equal(ours.stdout, plain.stdout);
    assert.equal(head(ours.stderr), head(plain.stderr));
    assert.ok(!ours.stderr.includes('otel-autoinstrument'), ours.stderr);
    // Already there when the process is gone: the send was synchronous.
    const kinds = spansOf(svc).map((s) => s.kind).sort();
    assert.deepEqual(kinds, ['SPAN_KIND_CLIENT', 'SPAN_KIND_SERVER'], JSON.stringify(spansOf(svc).map((s) => s.name)));
  });
}

// Once the exporter is loaded, spans are queued as bytes, encoded as they ended
// (src/sdk/encoding-processor.ts): those are sent at exit too, from two scopes, each once. With
// the host and container detectors the first batch waits for their asynchronous attributes
// (read from files), so the exporter may not be loaded yet; with the env detector alone it is.
for (const [mode, how, protocol, detectors] of [
  ['require', 'exit', 'http/protobuf', 'env'],
  ['import', 'throw', 'http/json', 'env'],
  ['require', 'exit', 'http/protobuf', 'env,host,os,process,container'],
]) {
  test(`--${mode}: spans queued (encoded once the exporter is loaded) at ${how === 'exit' ? 'process.exit(3)' : 'an uncaught exception'} are sent before the process ends (${protocol}, detectors ${detectors})`, async () => {
    const svc = `exit-send-encoded-${how}-${n++}`;
    const e = { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_METRICS_EXPORTER: 'none', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2', OTEL_NODE_RESOURCE_DETECTORS: detectors, THEN: '3' };
    const plain = await runNode([], 'encoded-exit-app.cjs', { args: [how], env: e });
    const ours = await runNode(REGISTER[mode], 'encoded-exit-app.cjs', { args: [how], env: e });
    assert.equal(ours.code, plain.code);
    assert.equal(ours.stdout, 'queued\n');
    assert.equal(head(ours.stderr), head(plain.stderr));
    // Already there when the process is gone: the send was synchronous.
    const queued = () => spansOf(svc).filter((s) => s.name.startsWith('queued'));
    assert.deepEqual(queued().map((s) => `${s.scope} ${s.name}`).sort(), ['encoded-exit-app queued 0', 'encoded-exit-app queued 2', 'other-scope queued 1'], JSON.stringify(spansOf(svc).map((s) => s.name)));
    // The first batch arrives too, once: exported before the exit, or sent at exit if it was
    // still waiting for resource attributes; or its request was out ("not confirmed").
    const all = await waitFor(() => spansOf(svc).length >= 5, 5000);
    if (!all) assert.match(ours.stderr, /not confirmed/, JSON.stringify(spansOf(svc).map((s) => s.name)));
    else assert.deepEqual(spansOf(svc).map((s) => s.name).sort(), ['first', 'queued 0', 'queued 1', 'queued 2', 'second']);
  });
}

test('process.exit() with the backend down: the exit is held for at most the send bound and says what was lost', async () => {
  const { createServer } = await import('node:net');
  const closed = createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const port = closed.address().port;
  await new Promise((r) => closed.close(r));
  let servedAt;
  const res = await runNode(REGISTER.require, 'exit-app.cjs', {
    args: ['exit'],
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_METRICS_EXPORTER: 'none', APP_WAIT_MS: '0' },
    onStdout: (out) => (servedAt ??= out.includes('served') ? Date.now() : undefined),
  });
  assert.equal(res.code, 3);
  // From the app's last line: the exit send is killed at 2 s by construction (spawnSync's timeout).
  assert.ok(Date.now() - servedAt < 3500, `held ${Date.now() - servedAt} ms after the app's last line`);
  const ours = res.stderr.split('\n').filter((l) => l.startsWith('otel-autoinstrument'));
  assert.ok(ours.length <= 1, res.stderr);
});

// A signal that arrives after the loop's last poll (or before its first) is delivered only by a
// poll: with a listener of ours installed, the process would otherwise end 0 instead of 128+N.
const BIN = join(ROOT, 'bin', 'otel-instrument.js');
const early = {
  require: (args, opts) => runNode(REGISTER.require, 'early-signal-app.cjs', { args, ...opts }),
  import: (args, opts) => runNode(REGISTER.import, 'early-signal-app.cjs', { args, ...opts }),
  'otel-instrument': (args, opts) => runNode([], BIN, { args: ['node', 'early-signal-app.cjs', ...args], ...opts }),
};
const quiet = { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };

for (const [entry, run] of Object.entries(early)) {
  for (const [how, sig] of [['main', 'SIGTERM'], ['immediate', 'SIGTERM'], ['timer', 'SIGINT']]) {
    test(`${entry}: a ${sig} raised from ${how === 'main' ? 'the main module' : `a${how === 'immediate' ? 'n' : ''} ${how}`} ends the process as without us`, async () => {
      const plain = await runNode([], 'early-signal-app.cjs', { args: [how, '', sig] });
      const ours = await run([how, '', sig], { env: quiet });
      assert.equal(plain.signal, sig, 'the fixture ends by its signal without us');
      // otel-instrument mirrors a child's death by signal N as 128+N.
      if (entry === 'otel-instrument') assert.equal(ours.code, 128 + osConstants.signals[sig], ours.stderr);
      else assert.equal(ours.signal, sig, `code=${ours.code} ${ours.stderr}`);
      assert.equal(ours.stdout, plain.stdout);
    });
  }
}

for (const mode of ['require', 'import']) {
  test(`--${mode}: a SIGTERM that arrives while the main module runs ends the process by SIGTERM`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'early-signal-'));
    try {
      const go = (child, out, file) => {
        if (!out.includes('busy') || existsSync(file)) return;
        child.kill('SIGTERM');
        writeFileSync(file, '');
      };
      const plain = await runNode([], 'early-signal-app.cjs', { args: ['external', join(dir, 'plain')], onStdout: (out, child) => go(child, out, join(dir, 'plain')) });
      const ours = await runNode(REGISTER[mode], 'early-signal-app.cjs', { args: ['external', join(dir, 'ours')], env: quiet, onStdout: (out, child) => go(child, out, join(dir, 'ours')) });
      assert.equal(plain.signal, 'SIGTERM');
      assert.equal(ours.signal, 'SIGTERM', `code=${ours.code} ${ours.stderr}`);
      assert.equal(ours.stdout, 'busy\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("the exit flush leaves the app's beforeExit listeners to run as often as without us (once)", async () => {
  const e = { APP_BEFORE_EXIT: '1', OTEL_SERVICE_NAME: `before-exit-${n++}`, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_METRICS_EXPORTER: 'none' };
  const plain = await runNode([], 'early-signal-app.cjs', { args: ['none'], env: e });
  assert.equal(plain.stdout, 'main done\nbefore-exit\n');
  for (const mode of ['require', 'import']) {
    // A span to flush: the flush keeps the loop alive after the app's listener ran.
    const ours = await runNode([...REGISTER[mode], `--${mode}`, './tools/one-span.cjs'], 'early-signal-app.cjs', { args: ['none'], env: e });
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout, plain.stdout, mode);
  }
  assert.ok(await waitFor(() => spansOf(e.OTEL_SERVICE_NAME).length === 2), JSON.stringify(spansOf(e.OTEL_SERVICE_NAME).map((s) => s.name)));
});
