// What the command under --viewer is given, and who the viewer answers to.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { viewerEnv } from '../../dist/viewer/cli.js';
import { startViewer } from '../../dist/viewer/server.js';

test('viewerEnv: every OTLP endpoint and protocol points at the viewer; live intervals unless the user chose', () => {
  const env = viewerEnv(
    { PATH: '/bin', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://elsewhere/v1/traces', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json', OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_BSP_SCHEDULE_DELAY: ' ' },
    'http://127.0.0.1:4319/',
  );
  assert.equal(env.PATH, '/bin');
  assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://127.0.0.1:4319');
  assert.equal(env.OTEL_EXPORTER_OTLP_PROTOCOL, 'http/protobuf');
  assert.equal(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, 'http://127.0.0.1:4319/v1/traces');
  assert.equal(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, 'http://127.0.0.1:4319/v1/metrics');
  assert.equal(env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, 'http://127.0.0.1:4319/v1/logs');
  assert.equal(env.OTEL_EXPORTER_OTLP_LOGS_PROTOCOL, 'http/protobuf');
  assert.equal(env.OTEL_METRIC_EXPORT_INTERVAL, '1000', 'the user\'s interval stays');
  assert.equal(env.OTEL_BSP_SCHEDULE_DELAY, '500', 'blank is unset');
  assert.equal(env.OTEL_BLRP_SCHEDULE_DELAY, '500');
});

const get = (port, host) =>
  new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/traces', headers: { host } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });

test('the viewer answers to 127.0.0.1 and localhost only (no DNS rebinding)', async () => {
  const viewer = await startViewer({ port: 0 });
  try {
    assert.equal(await get(viewer.port, `127.0.0.1:${viewer.port}`), 200);
    assert.equal(await get(viewer.port, `localhost:${viewer.port}`), 200);
    assert.equal(await get(viewer.port, `evil.example:${viewer.port}`), 403);
    assert.equal(await get(viewer.port, 'evil.example'), 403);
  } finally {
    await viewer.close();
  }
});
