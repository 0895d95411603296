// Export faults never reach the app: under steady load through a faulty OTLP endpoint, every
// request is answered correctly, RSS stays under RSS_BOUND_MB, stderr has at most the documented
// warnings, and once the endpoint recovers the telemetry it held back arrives.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startFaultyOtlp } from '../helpers/faulty-otlp.mjs';
import { waitFor } from '../helpers/otlp.mjs';
import { REGISTER, runNode } from '../helpers/run.mjs';

/** The stated bound for an instrumented 100 req/s app whatever the backend does (docs/reliability.md). */
const RSS_BOUND_MB = 200;
const LOSS_LINE = /^otel-autoinstrument: warning: telemetry (is being lost|lost)/;

let otlp;
before(async () => {
  otlp = await startFaultyOtlp();
});
after(() => otlp.close());

let n = 0;
const serverSpans = (svc) => otlp.receiver.spans().filter((s) => s.resource['service.name'] === svc && s.kind === 'SPAN_KIND_SERVER');

/**
 * Runs the load app with the endpoint in `fault` until two requests have met it (a refused port
 * cannot count them: it opens again after `faultMs`), then healthy.
 */
async function underFault(fault, { faultMs = 1500, opts = {}, env = {}, mode = 'require' } = {}) {
  const svc = `rel-${fault}-${n++}`;
  await otlp.set(fault, { ...opts, times: 2 });
  const heal = fault === 'refuse' ? setTimeout(() => otlp.set('ok'), faultMs) : undefined;
  try {
    const res = await runNode(REGISTER[mode], 'load-app.cjs', {
      env: { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_METRICS_EXPORTER: 'none', OTEL_BSP_SCHEDULE_DELAY: '200', LOAD_SECONDS: '3', LOAD_RPS: '100', ...env },
    });
    const m = /^requests=(\d+) bad=(\d+) maxRssMB=(\d+)$/m.exec(res.stdout);
    assert.ok(m, `no report: code=${res.code} ${res.stdout} ${res.stderr}`);
    return { ...res, svc, requests: Number(m[1]), bad: Number(m[2]), rss: Number(m[3]), lines: res.stderr.split('\n').filter(Boolean) };
  } finally {
    clearTimeout(heal);
    await otlp.set('ok');
  }
}

function appUnharmed(r) {
  assert.equal(r.code, 0, r.stderr);
  // The app paces itself (100 req/s); a busy machine sends fewer, never wrong ones.
  assert.ok(r.requests >= 50, `requests=${r.requests}`);
  assert.equal(r.bad, 0, 'every request answered correctly');
  assert.ok(r.rss < RSS_BOUND_MB, `RSS ${r.rss} MB`);
}

// Retryable faults: the batches held back during the fault are retried and all arrive.
for (const [fault, opts] of [
  ['refuse', {}],
  ['429', { retryAfter: 1 }],
  ['reset', {}],
]) {
  test(`${fault}: the app is unharmed, nothing is said, and every span arrives after recovery`, async () => {
    const r = await underFault(fault, { opts });
    appUnharmed(r);
    assert.ok((otlp.seen[fault] ?? 0) + (fault === 'refuse' ? 1 : 0) > 0, 'the fault was met');
    assert.deepEqual(r.lines, [], 'no warning: nothing was lost');
    const all = await waitFor(() => serverSpans(r.svc).length >= r.requests, 5000);
    assert.ok(all, `${serverSpans(r.svc).length} of ${r.requests} server spans arrived`);
  });
}

// Faults the OTLP spec does not retry (500) or that outlast the export timeout (a backend that
// answers after 30 s): those batches are lost, counted, and reported in one line; later ones arrive.
for (const [fault, opts, env, reason] of [
  ['500', {}, {}, /HTTP 500/],
  ['delay', { delayMs: 30000 }, { OTEL_EXPORTER_OTLP_TIMEOUT: '500' }, /timeout/],
]) {
  test(`${fault}: the app is unharmed, one warning counts the loss, later spans arrive`, async () => {
    const r = await underFault(fault, { opts, env });
    appUnharmed(r);
    assert.ok(otlp.seen[fault] > 0, 'the fault was met');
    assert.ok(r.lines.length >= 1 && r.lines.length <= 2, r.stderr);
    for (const l of r.lines) assert.match(l, LOSS_LINE);
    assert.match(r.lines[0], reason);
    const lost = Number(/traces: (\d+) spans/.exec(r.stderr)?.[1]);
    assert.ok(lost > 0, r.stderr);
    const some = await waitFor(() => serverSpans(r.svc).length > 0, 5000);
    assert.ok(some, 'spans ended after recovery arrive');
    assert.ok(serverSpans(r.svc).length < r.requests, 'the lost ones really are lost');
  });
}

test('an http/protobuf exporter on a gRPC port: one warning says which port speaks which protocol', async () => {
  const svc = `rel-mixup-${n++}`;
  const res = await runNode(REGISTER.import, 'load-app.cjs', {
    env: { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.grpcUrl, OTEL_BSP_SCHEDULE_DELAY: '200', LOAD_SECONDS: '2' },
  });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /bad=0/);
  const lines = res.stderr.split('\n').filter(Boolean);
  const mixups = lines.filter((l) => l.includes('speaks gRPC'));
  assert.equal(mixups.length, 1, res.stderr);
  assert.match(mixups[0], /the endpoint speaks gRPC \(usually port 4317\): set OTEL_EXPORTER_OTLP_PROTOCOL=grpc, or use port 4318 for http\/protobuf/);
  assert.ok(lines.every((l) => l === mixups[0] || LOSS_LINE.test(l)), res.stderr);
});

test('a grpc exporter on an HTTP/1.1 port: one warning, the reverse advice', async () => {
  const res = await runNode(REGISTER.require, 'load-app.cjs', {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_BSP_SCHEDULE_DELAY: '200', LOAD_SECONDS: '2' },
  });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /bad=0/);
  const lines = res.stderr.split('\n').filter(Boolean);
  const mixups = lines.filter((l) => l.includes('speaks HTTP/1.1, not gRPC'));
  assert.equal(mixups.length, 1, res.stderr);
  assert.match(mixups[0], /set OTEL_EXPORTER_OTLP_PROTOCOL=http\/protobuf, or use port 4317 for grpc/);
  assert.ok(lines.every((l) => l === mixups[0] || LOSS_LINE.test(l)), res.stderr);
});

test('a grpc exporter retries a refused connection, and the spans arrive after recovery', async () => {
  const svc = `rel-grpc-${n++}`;
  // A port that refuses for the first 1.5 s, then is the receiver's gRPC port: a tiny TCP relay.
  const { createServer, connect } = await import('node:net');
  const grpcPort = Number(new URL(otlp.grpcUrl).port);
  const relay = createServer((s) => {
    const up = connect(grpcPort, '127.0.0.1');
    for (const [a, b] of [[s, up], [up, s]]) a.on('error', () => b.destroy()).on('close', () => b.destroy());
    s.pipe(up).pipe(s);
  });
  await new Promise((r) => relay.listen(0, '127.0.0.1', r));
  const port = relay.address().port;
  await new Promise((r) => relay.close(r));
  const heal = setTimeout(() => relay.listen(port, '127.0.0.1'), 1500);
  try {
    const res = await runNode(REGISTER.require, 'load-app.cjs', {
      env: { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_METRICS_EXPORTER: 'none', OTEL_BSP_SCHEDULE_DELAY: '200', LOAD_SECONDS: '3' },
    });
    assert.equal(res.code, 0, res.stderr);
    const requests = Number(/requests=(\d+) bad=0/.exec(res.stdout)?.[1]);
    assert.ok(requests > 0, res.stdout);
    assert.equal(res.stderr, '');
    assert.ok(await waitFor(() => serverSpans(svc).length >= requests, 5000), `${serverSpans(svc).length} of ${requests}`);
  } finally {
    clearTimeout(heal);
    relay.close();
  }
});

test('a backend that never comes back: a finished script exits within the flush deadline, with one line', async () => {
  await otlp.set('refuse');
  try {
    let doneAt;
    const res = await runNode(REGISTER.import, 'load-app.cjs', {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '200', LOAD_SECONDS: '2' },
      onStdout: (out) => (doneAt ??= out.includes('requests=') ? Date.now() : undefined),
    });
    const took = Date.now() - doneAt;
    assert.equal(res.code, 0);
    assert.match(res.stdout, /bad=0/);
    // From the app's last line: at most the 5 s exit flush (a refused port is not even retried
    // then); upstream's retries alone held it 20 s and more.
    assert.ok(took < 5000, `held ${took} ms after the app's last line`);
    const lines = res.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, res.stderr);
    assert.match(lines[0], /^otel-autoinstrument: warning: telemetry lost, reported at exit: (OTLP \w+ exporter .*: export failed \(connection refused\); )?traces: \d+ spans \(.*\); metrics: \d+ metric data points/);
  } finally {
    await otlp.set('ok');
  }
});

test('secrets: header values and a URL password appear nowhere on stderr, even at debug level with failing exports', async () => {
  await otlp.set('500');
  try {
    const url = new URL(otlp.url);
    url.username = 'user';
    url.password = 'pa55word-secret';
    const res = await runNode(REGISTER.require, 'load-app.cjs', {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: url.href.replace(/\/$/, ''), OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20tok-s3cret', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-api-key=key-s3cret', OTEL_LOG_LEVEL: 'debug', OTEL_BSP_SCHEDULE_DELAY: '200', LOAD_SECONDS: '1' },
    });
    assert.equal(res.code, 0);
    assert.match(res.stderr, /HTTP 500/);
    for (const secret of ['tok-s3cret', 'key-s3cret', 'pa55word-secret']) assert.ok(!res.stderr.includes(secret), `${secret} leaked`);
  } finally {
    await otlp.set('ok');
  }
});
