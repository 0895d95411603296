// Settings from the SDK environment spec, proven on the wire: each changes what the receiver gets.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { REGISTER, runNode } from '../helpers/run.mjs';
import { freePort } from '../helpers/services.mjs';

let receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());

let n = 0;
const service = (tag) => `config-${tag}-${n++}`;
const spansOf = (svc) => receiver.spans().filter((s) => s.resource['service.name'] === svc);
const DEAD = 'http://127.0.0.1:9';

/** The first metric named `name` that service `svc` exported, as the receiver decoded it. */
function metricOf(svc, name) {
  for (const m of receiver.metrics)
    for (const rm of m.resourceMetrics ?? [])
      if (rm.resource?.attributes?.['service.name'] === svc) for (const sm of rm.scopeMetrics ?? []) for (const x of sm.metrics ?? []) if (x.name === name) return x;
  return undefined;
}

test('OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT truncates attribute values', async () => {
  const svc = service('limit');
  const res = await runNode(REGISTER.require, 'http-app.cjs', { env: { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '3' } });
  assert.equal(res.code, 0, res.stderr);
  await waitFor(() => spansOf(svc).length >= 2);
  const server = spansOf(svc).find((s) => s.kind === 'SPAN_KIND_SERVER');
  assert.equal(server.attributes['url.path'], '/he');
});

test('OTEL_ATTRIBUTE_COUNT_LIMIT caps attributes per span', async () => {
  const svc = service('count');
  const res = await runNode(REGISTER.require, 'http-app.cjs', { env: { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_ATTRIBUTE_COUNT_LIMIT: '2' } });
  assert.equal(res.code, 0, res.stderr);
  await waitFor(() => spansOf(svc).length >= 2);
  for (const s of spansOf(svc)) assert.ok(Object.keys(s.attributes).length <= 2, JSON.stringify(s.attributes));
});

test('per-signal endpoint and protocol win over the general ones', async () => {
  const svc = service('signal');
  const res = await runNode(REGISTER.import, 'http-app.cjs', {
    env: {
      OTEL_SERVICE_NAME: svc,
      OTEL_EXPORTER_OTLP_ENDPOINT: DEAD,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.httpUrl}/v1/traces`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_METRICS_EXPORTER: 'none',
    },
  });
  assert.equal(res.code, 0, res.stderr);
  assert.ok(await waitFor(() => spansOf(svc).length >= 2));
  assert.ok(receiver.requests.some((r) => r.transport === 'http' && r.path === '/v1/traces' && r.headers['content-type'] === 'application/json'));
});

test('OTEL_EXPORTER_OTLP_HEADERS and the per-signal headers arrive at the receiver, signal ones on top', async () => {
  const svc = service('headers');
  const res = await runNode(REGISTER.require, 'http-app.cjs', {
    env: {
      OTEL_SERVICE_NAME: svc,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=general,x-team=core',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=traces',
    },
  });
  assert.equal(res.code, 0, res.stderr);
  await waitFor(() => spansOf(svc).length >= 2);
  const traces = receiver.requests.filter((r) => r.path === '/v1/traces' && r.headers['x-team'] === 'core');
  assert.ok(traces.length > 0);
  assert.ok(traces.every((r) => r.headers['x-tenant'] === 'traces'));
  const metrics = await waitFor(() => receiver.requests.filter((r) => r.path === '/v1/metrics' && r.headers['x-team'] === 'core').length > 0 && receiver.requests.filter((r) => r.path === '/v1/metrics' && r.headers['x-team'] === 'core'));
  assert.ok(metrics && metrics.every((r) => r.headers['x-tenant'] === 'general'));
});

test('OTEL_BSP_SCHEDULE_DELAY: spans arrive while the process still runs (the default waits 5 s)', async () => {
  const svc = service('bsp');
  let seenWhileRunning = false;
  const res = await runNode(REGISTER.require, 'server-app.cjs', {
    env: { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_BSP_SCHEDULE_DELAY: '100' },
    onStdout: (out, child) => {
      if (!out.includes('ready') || child.polling) return;
      child.polling = true;
      waitFor(() => spansOf(svc).length >= 2, 3000).then((ok) => {
        seenWhileRunning = Boolean(ok);
        child.kill('SIGTERM');
      });
    },
  });
  assert.equal(res.signal, 'SIGTERM');
  assert.ok(seenWhileRunning, 'spans exported on the 100 ms schedule, before the shutdown flush');
});

test('OTEL_METRIC_EXPORT_INTERVAL: metrics are exported periodically, not only at exit', async () => {
  const svc = service('interval');
  const script = "const h=require('node:http');const s=h.createServer((q,r)=>r.end('x')).listen(0,'127.0.0.1',()=>h.get('http://127.0.0.1:'+s.address().port,(r)=>{r.resume();setTimeout(()=>s.close(),1200)}))";
  const res = await runNode(REGISTER.require, '-e', { args: [script], env: { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_METRIC_EXPORT_INTERVAL: '200', OTEL_TRACES_EXPORTER: 'none' } });
  assert.equal(res.code, 0, res.stderr);
  const exportsOf = () => receiver.metrics.filter((m) => m.resourceMetrics?.some((rm) => rm.resource?.attributes?.['service.name'] === svc)).length;
  await waitFor(() => exportsOf() >= 3);
  assert.ok(exportsOf() >= 3, `only ${exportsOf()} metric exports in 1.2 s at a 200 ms interval`);
});

for (const [preference, expected] of [['delta', 1], [undefined, 2]]) {
  // OTLP's AggregationTemporality: 1 = DELTA, 2 = CUMULATIVE (the default).
  test(`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=${preference ?? '(unset)'}: histograms are sent with temporality ${expected}`, async () => {
    const svc = service('temporality');
    const env = { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_TRACES_EXPORTER: 'none' };
    if (preference) env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE = preference;
    const res = await runNode(REGISTER.require, 'http-app.cjs', { env });
    assert.equal(res.code, 0, res.stderr);
    const metric = await waitFor(() => metricOf(svc, 'http.server.request.duration'));
    assert.ok(metric, 'http.server.request.duration received');
    assert.equal(metric.histogram.aggregationTemporality, expected);
  });
}

test('OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram sends exponential histograms', async () => {
  const svc = service('expo');
  const res = await runNode(REGISTER.require, 'http-app.cjs', {
    env: { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: 'base2_exponential_bucket_histogram' },
  });
  assert.equal(res.code, 0, res.stderr);
  const metric = await waitFor(() => metricOf(svc, 'http.server.request.duration'));
  assert.ok(metric, 'http.server.request.duration received');
  assert.ok(metric.exponentialHistogram, `an exponential histogram: ${Object.keys(metric).join(',')}`);
});

test('OTEL_METRICS_EXPORTER=prometheus serves the metrics on OTEL_EXPORTER_PROMETHEUS_HOST:PORT', async () => {
  const port = await freePort();
  let scraped = '';
  const res = await runNode(REGISTER.require, 'server-app.cjs', {
    env: { OTEL_SERVICE_NAME: service('prom'), OTEL_METRICS_EXPORTER: 'prometheus', OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_EXPORTER_PROMETHEUS_PORT: String(port), OTEL_TRACES_EXPORTER: 'none' },
    onStdout: (out, child) => {
      if (!out.includes('ready') || child.scraping) return;
      child.scraping = true;
      (async () => {
        const end = Date.now() + 5000;
        while (Date.now() < end && !scraped.includes('http_server_request_duration')) {
          try {
            scraped = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          } catch {
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        child.kill('SIGTERM');
      })();
    },
  });
  assert.equal(res.signal, 'SIGTERM', res.stderr);
  assert.match(scraped, /^http_server_request_duration_count\{.*\} 1$/m);
});

test('OTEL_TRACES_EXPORTER=zipkin posts Zipkin v2 JSON to OTEL_EXPORTER_ZIPKIN_ENDPOINT', async () => {
  const { createServer } = await import('node:http');
  const bodies = [];
  const sink = createServer((req, res) => {
    let b = '';
    req.on('data', (d) => (b += d));
    req.on('end', () => {
      bodies.push({ path: req.url, body: b });
      res.writeHead(202).end();
    });
  });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  try {
    const res = await runNode(REGISTER.require, 'http-app.cjs', {
      env: { OTEL_SERVICE_NAME: 'zipkin-svc', OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: `http://127.0.0.1:${sink.address().port}/api/v2/spans`, OTEL_METRICS_EXPORTER: 'none' },
    });
    assert.equal(res.code, 0, res.stderr);
    const spans = await waitFor(() => bodies.length > 0 && bodies.flatMap((b) => JSON.parse(b.body)));
    assert.ok(spans, 'the Zipkin sink got a request');
    assert.equal(bodies[0].path, '/api/v2/spans');
    assert.deepEqual(spans.map((s) => s.kind).sort(), ['CLIENT', 'SERVER']);
    assert.ok(spans.every((s) => s.localEndpoint.serviceName === 'zipkin-svc'));
  } finally {
    sink.close();
  }
});

test('per-instrumentation options from the env change the spans: express ignores middleware layers, http skips outgoing requests', async () => {
  const svc = service('options');
  const res = await runNode(REGISTER.import, 'express-app.mjs', {
    env: {
      OTEL_SERVICE_NAME: svc,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl,
      OTEL_NODE_INSTRUMENTATION_EXPRESS_IGNORE_LAYERS_TYPE: 'middleware',
      OTEL_NODE_INSTRUMENTATION_HTTP_DISABLE_OUTGOING_REQUEST_INSTRUMENTATION: 'true',
    },
  });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stderr, '');
  await waitFor(() => spansOf(svc).some((s) => s.name === 'request handler'));
  await new Promise((r) => setTimeout(r, 200));
  const spans = spansOf(svc);
  const express = spans.filter((s) => s.scope === '@opentelemetry/instrumentation-express').map((s) => s.name);
  assert.deepEqual(express, ['request handler'], 'the jsonParser middleware span is gone');
  assert.equal(spans.filter((s) => s.kind === 'SPAN_KIND_CLIENT').length, 0, 'no outgoing http span');
  assert.equal(spans.filter((s) => s.kind === 'SPAN_KIND_SERVER').length, 1);
});

test('OTEL_CONFIG_FILE configures a real app; the environment still wins; a broken file leaves the app uninstrumented', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'otel-cfg-e2e-'));
  try {
    const good = join(dir, 'otel.yaml');
    writeFileSync(
      good,
      `file_format: "1.0"
resource:
  attributes:
    - { name: service.name, value: from-file }
    - { name: origin, value: "\${ORIGIN:-yaml}" }
tracer_provider:
  processors:
    - batch:
        exporter:
          otlp_http: { endpoint: "${receiver.httpUrl}/v1/traces" }
meter_provider:
  readers:
    - periodic: { exporter: { console: {} } }
`,
    );
    const res = await runNode(REGISTER.require, 'http-app.cjs', { env: { OTEL_CONFIG_FILE: good, OTEL_METRICS_EXPORTER: 'none', ORIGIN: 'substituted' } });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'status=200 body=hello /hello\n', 'the env (metrics none) won over the file (console)');
    assert.ok(await waitFor(() => spansOf('from-file').length >= 2));
    assert.equal(spansOf('from-file')[0].resource.origin, 'substituted');

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'file_format: "1.0"\ntracer_provider:\n  processors: {}\n');
    const res2 = await runNode(REGISTER.import, 'http-app.cjs', { args: ['2'], env: { OTEL_CONFIG_FILE: bad, OTEL_SERVICE_NAME: 'bad-file', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl } });
    assert.equal(res2.code, 2);
    assert.equal(res2.stdout, 'status=200 body=hello /hello\n');
    assert.equal(res2.stderr, `otel-autoinstrument: error: configuration file: ${bad}:3: tracer_provider.processors must be a list; running without instrumentation\n`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(spansOf('bad-file').length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('http options from the env: captured request headers (nested option) and ignored incoming paths (ours)', async () => {
  const svc = service('http-opts');
  const res = await runNode(REGISTER.require, 'http-app.cjs', {
    env: { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_NODE_INSTRUMENTATION_HTTP_HEADERS_TO_SPAN_ATTRIBUTES_SERVER_REQUEST_HEADERS: 'host' },
  });
  assert.equal(res.code, 0, res.stderr);
  await waitFor(() => spansOf(svc).length >= 2);
  const server = spansOf(svc).find((s) => s.kind === 'SPAN_KIND_SERVER');
  assert.match(String(server.attributes['http.request.header.host']), /^127\.0\.0\.1:\d+$/);

  const svc2 = service('ignored');
  const res2 = await runNode(REGISTER.require, 'http-app.cjs', {
    env: { OTEL_SERVICE_NAME: svc2, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_NODE_INSTRUMENTATION_HTTP_IGNORE_INCOMING_PATHS: '/health,/hel*' },
  });
  assert.equal(res2.code, 0, res2.stderr);
  await waitFor(() => spansOf(svc2).length >= 1);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(spansOf(svc2).map((s) => s.kind), ['SPAN_KIND_CLIENT'], 'the /hello server span is ignored');
});

test('cloud detectors that read only the environment run when it shows the cloud (Lambda, App Service), never otherwise', async () => {
  const run = async (extra) => {
    const svc = service('cloud');
    const res = await runNode(REGISTER.require, 'http-app.cjs', { env: { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_METRICS_EXPORTER: 'none', ...extra } });
    assert.equal(res.code, 0, res.stderr);
    await waitFor(() => spansOf(svc).length >= 2);
    return spansOf(svc)[0].resource;
  };
  const lambda = await run({ AWS_LAMBDA_FUNCTION_NAME: 'checkout', AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_VERSION: '7', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128' });
  assert.equal(lambda['cloud.provider'], 'aws');
  assert.equal(lambda['faas.name'], 'checkout');
  assert.equal(lambda['cloud.region'], 'eu-west-1');
  const azure = await run({ WEBSITE_SITE_NAME: 'shop-site', REGION_NAME: 'westeurope' });
  assert.equal(azure['cloud.provider'], 'azure');
  const plain = await run({});
  assert.equal(plain['cloud.provider'], undefined);
});

test('OTEL_EXPORTER_OTLP_COMPRESSION=gzip sends gzip bodies (checked by a receiver of our own: the mock cannot gunzip)', async () => {
  const { createServer } = await import('node:http');
  const { gunzipSync } = await import('node:zlib');
  const seen = [];
  const sink = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let inflated = 0;
      try {
        inflated = gunzipSync(body).length;
      } catch {
        inflated = -1;
      }
      seen.push({ path: req.url, encoding: req.headers['content-encoding'], inflated });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  try {
    const res = await runNode(REGISTER.require, 'http-app.cjs', {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.address().port}`, OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_METRICS_EXPORTER: 'none' },
    });
    assert.equal(res.code, 0, res.stderr);
    const traces = await waitFor(() => seen.find((s) => s.path === '/v1/traces'));
    assert.ok(traces, 'a trace export arrived');
    assert.equal(traces.encoding, 'gzip');
    assert.ok(traces.inflated > 0, 'the body is valid gzip');
  } finally {
    sink.close();
  }
});
