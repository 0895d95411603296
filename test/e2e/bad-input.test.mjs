// Bad configuration never breaks the app: it runs, keeps its exit code, and stderr has one
// clear warning naming the variable.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { REGISTER, runNode } from '../helpers/run.mjs';

let receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());

const CASES = [
  { env: { OTEL_TRACES_EXPORTER: 'jaeger' }, warn: /^otel-autoinstrument: warning: OTEL_TRACES_EXPORTER="jaeger" has "jaeger", not one of otlp, console, none, zipkin; using the default "otlp"$/, exported: true },
  { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, warn: /^otel-autoinstrument: warning: OTEL_EXPORTER_OTLP_ENDPOINT="not a url" is not an absolute URL; using the default http:\/\/localhost:4318 \(4317 for grpc\)$/, exported: false },
  { env: { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'lots' }, warn: /^otel-autoinstrument: warning: OTEL_TRACES_SAMPLER_ARG="lots" is not a number; using 1.0$/, exported: true },
  { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/xml' }, warn: /^otel-autoinstrument: warning: OTEL_EXPORTER_OTLP_PROTOCOL="http\/xml" is not one of http\/protobuf, http\/json, grpc; using the default "http\/protobuf"$/, exported: true },
  { env: { OTEL_LOG_LEVEL: 'loud' }, warn: /^otel-autoinstrument: warning: OTEL_LOG_LEVEL="loud" is not one of none, error, warn, info, debug, verbose, all; using the default "info"$/, exported: true },
];

let n = 0;
for (const mode of ['require', 'import']) {
  for (const c of CASES) {
    const label = Object.entries(c.env).map(([k, v]) => `${k}=${v}`).join(' ');
    test(`--${mode} ${label}: one warning, the app's exit code and output unchanged`, async () => {
      const svc = `bad-${n++}`;
      const res = await runNode(REGISTER[mode], 'http-app.cjs', {
        args: ['5'],
        // The invalid endpoint case keeps the default endpoint, where nothing listens: spans are dropped quietly.
        env: { OTEL_SERVICE_NAME: svc, ...(c.exported ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl } : {}), ...c.env },
      });
      assert.equal(res.code, 5);
      assert.equal(res.stdout, 'status=200 body=hello /hello\n');
      const lines = res.stderr.split('\n').filter(Boolean);
      assert.match(lines[0], c.warn);
      const name = Object.keys(c.env).at(-1);
      assert.equal(lines.filter((l) => l.includes(name)).length, 1, res.stderr);
      // With a reachable receiver nothing else is said; with none, one line at exit counts the loss.
      if (c.exported) assert.equal(lines.length, 1, res.stderr);
      else assert.ok(lines.slice(1).every((l) => /^otel-autoinstrument: warning: telemetry (is being lost|lost, reported at exit): .*connection refused/.test(l)) && lines.length <= 2, res.stderr);
      if (c.exported) assert.ok(await waitFor(() => receiver.spans().some((s) => s.resource['service.name'] === svc)), 'defaults applied, spans exported');
    });
  }
}

test('an unreachable backend: exit code and stdout unchanged, one line counting what was lost', async () => {
  const res = await runNode(REGISTER.import, 'http-app.cjs', { args: ['6'], env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' } });
  assert.equal(res.code, 6);
  assert.equal(res.stdout, 'status=200 body=hello /hello\n');
  assert.match(res.stderr, /^otel-autoinstrument: warning: telemetry lost, reported at exit: OTLP traces exporter \(http\/protobuf, http:\/\/127\.0\.0\.1:9\/v1\/traces\): export failed \(connection refused\); traces: 2 spans \(connection refused 2\); metrics: \d+ metric data points \(.*connection refused \d+\)\n$/);
});

// Random garbage in every variable we read: the app's output and exit code never change.
test('random values in every variable never change the app', async () => {
  const { TABLE } = await import('../../dist/config/table.js');
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1e9);
  let a = seed >>> 0;
  const next = () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return a / 4294967296;
  };
  const pieces = ['', ' ', ',', '=', '%', 'true', '-1', '0', 'NaN', 'é', '😀', '"', '\\', 'a=b', 'http://', 'otlp'];
  const garbage = () => Array.from({ length: 1 + Math.floor(next() * 4) }, () => pieces[Math.floor(next() * pieces.length)]).join('');
  for (const [i, mode] of ['require', 'import', 'require', 'import'].entries()) {
    const env = {};
    for (const name of Object.keys(TABLE)) env[name] = garbage();
    // Keep the receiver reachable so an exit never waits on retries to a dead port.
    env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.httpUrl;
    const res = await runNode(REGISTER[mode], 'http-app.cjs', { args: ['4'], env });
    assert.equal(res.code, 4, `run ${i} (FUZZ_SEED=${seed}): ${res.stderr}`);
    assert.equal(res.stdout, 'status=200 body=hello /hello\n', `run ${i} (FUZZ_SEED=${seed})`);
  }
});
