// The exit report counts as lost only what did not reach the backend: spans sent whose answer
// had not come when the process ended are "not confirmed", never "lost", never sent twice, and
// the report is one line.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startFaultyOtlp } from '../helpers/faulty-otlp.mjs';
import { waitFor } from '../helpers/otlp.mjs';
import { REGISTER, runNode } from '../helpers/run.mjs';

const UNCONFIRMED = /^otel-autoinstrument: warning: telemetry not confirmed at exit: traces: (\d+) spans sent with no answer before exit/;

let otlp;
before(async () => {
  otlp = await startFaultyOtlp();
});
after(() => otlp.close());

let n = 0;
const spansOf = (svc) => otlp.receiver.spans().filter((s) => s.resource['service.name'] === svc);
const env = (svc, extra = {}) => ({ OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', ...extra });
const lines = (stderr) => stderr.split('\n').filter(Boolean);

/** Runs loss-app with the SIGINT handler; sends SIGINT once `ready` says the moment has come. */
function runWithSigint(mode, svc, count, ready, extraEnv = {}) {
  let sent = false;
  return runNode(REGISTER[mode], 'loss-app.cjs', {
    args: [String(count), 'sigint'],
    env: env(svc, extraEnv),
    onStdout: (out, child) => {
      if (sent || !out.includes('ready')) return;
      sent = true;
      void ready().then(() => child.kill('SIGINT'));
    },
  });
}

for (const mode of ['require', 'import']) {
  test(`${mode}: a backend that answers after the process ended got every span: reported as not confirmed, not as lost`, async () => {
    const svc = `loss-slow-${n++}`;
    // Longer than the 5 s the exit flush waits: the answer never comes while the process lives.
    await otlp.set('slow', { delayMs: 12000 });
    try {
      const r = await runNode(REGISTER[mode], 'loss-app.cjs', { args: ['200'], env: env(svc) });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(await waitFor(() => spansOf(svc).length >= 200, 10000), `${spansOf(svc).length} of 200 arrived`);
      const l = lines(r.stderr);
      assert.equal(l.length, 1, r.stderr);
      assert.match(l[0], UNCONFIRMED);
      assert.equal(Number(UNCONFIRMED.exec(l[0])[1]), 200);
      assert.doesNotMatch(r.stderr, /lost/);
    } finally {
      await otlp.set('ok');
    }
  });
}

test('a SIGINT handler that calls process.exit(7) with a healthy backend: every span arrives once, nothing is reported', async () => {
  const svc = `loss-sigint-${n++}`;
  await otlp.set('ok');
  const r = await runWithSigint('require', svc, 50, async () => undefined);
  assert.equal(r.code, 7, r.stderr);
  assert.ok(await waitFor(() => spansOf(svc).length >= 50, 10000), `${spansOf(svc).length} of 50 arrived`);
  assert.equal(r.stderr, '');
  assert.equal(spansOf(svc).length, 50, 'no span sent twice');
});

test('process.exit(7) while the export request is out: the spans arrive once, reported as not confirmed', async () => {
  const svc = `loss-sigint-slow-${n++}`;
  await otlp.set('slow', { delayMs: 12000 });
  const seen = () => otlp.seen.slow ?? 0;
  const before = seen();
  try {
    // The signal once the backend holds the batch's request, unanswered.
    const r = await runWithSigint('require', svc, 50, () => waitFor(() => seen() > before, 15000), { OTEL_BSP_SCHEDULE_DELAY: '50' });
    assert.equal(r.code, 7, r.stderr);
    assert.ok(await waitFor(() => spansOf(svc).length >= 50, 10000), `${spansOf(svc).length} of 50 arrived`);
    const l = lines(r.stderr);
    assert.equal(l.length, 1, r.stderr);
    assert.match(l[0], UNCONFIRMED);
    assert.equal(Number(UNCONFIRMED.exec(l[0])[1]), 50);
    // Give a duplicate every chance to arrive: the exit send would have been made before exit.
    await otlp.set('ok');
    assert.equal(spansOf(svc).length, 50, 'not sent a second time at exit');
  } finally {
    await otlp.set('ok');
  }
});
