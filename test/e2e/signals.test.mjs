// How the process ends is the app's, with or without us: exit codes, signals and the first lines
// of an uncaught exception's report are compared with the same app run without the launcher.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { REGISTER, runNode } from '../helpers/run.mjs';

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
      assert.ok(!ours.stderr.includes('otel-autoinstrument'), ours.stderr);
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

test('process.exit() with the backend down: the exit is held for at most the send bound and says what was lost', async () => {
  const { createServer } = await import('node:net');
  const closed = createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const port = closed.address().port;
  await new Promise((r) => closed.close(r));
  const t0 = Date.now();
  const res = await runNode(REGISTER.require, 'exit-app.cjs', {
    args: ['exit'],
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_METRICS_EXPORTER: 'none', APP_WAIT_MS: '0' },
  });
  assert.equal(res.code, 3);
  assert.ok(Date.now() - t0 < 4000, `took ${Date.now() - t0} ms`);
  const ours = res.stderr.split('\n').filter((l) => l.startsWith('otel-autoinstrument'));
  assert.ok(ours.length <= 1, res.stderr);
});
