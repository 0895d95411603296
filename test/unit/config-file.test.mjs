import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { effectiveConfig } from '../../dist/config/effective.js';
import { loadConfigFile } from '../../dist/config/file.js';

const dir = mkdtempSync(join(tmpdir(), 'otel-config-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text) => {
  const p = join(dir, `c${n++}.yaml`);
  writeFileSync(p, text);
  return p;
};

const FULL = `file_format: "1.0"
disabled: false
log_level: warn
resource:
  attributes:
    - name: service.name
      value: \${SVC:-from-file}
    - name: team
      value: a,b
propagator:
  composite: [{ tracecontext: {} }, { b3: {} }]
attribute_limits:
  attribute_count_limit: 64
tracer_provider:
  sampler:
    parent_based:
      root:
        trace_id_ratio_based: { ratio: 0.25 }
  limits: { event_count_limit: 10 }
  processors:
    - batch:
        schedule_delay: 200
        exporter:
          otlp_http:
            endpoint: http://127.0.0.1:4318/v1/traces
            encoding: json
            headers: [{ name: x-token, value: "\${TOKEN}" }]
meter_provider:
  readers:
    - periodic:
        interval: 1000
        exporter:
          otlp_grpc: { endpoint: "http://127.0.0.1:4317" }
logger_provider:
  processors:
    - simple: { exporter: { console: {} } }
`;

test('a full file maps onto our variables, with ${VAR} and ${VAR:-default} substitution', () => {
  const r = loadConfigFile(file(FULL), { TOKEN: 's3cret' });
  assert.ok(r.ok, r.error);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.values, {
    OTEL_SDK_DISABLED: 'false',
    OTEL_LOG_LEVEL: 'warn',
    OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-file,team=a%2Cb',
    OTEL_PROPAGATORS: 'tracecontext,b3',
    OTEL_ATTRIBUTE_COUNT_LIMIT: '64',
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.25',
    OTEL_SPAN_EVENT_COUNT_LIMIT: '10',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-token=s3cret',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://127.0.0.1:4317',
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
    OTEL_LOGS_EXPORTER: 'console',
  });
});

test('the environment wins over the file; the file wins over the defaults; sources say which', () => {
  const p = file(FULL);
  const e = effectiveConfig({ OTEL_CONFIG_FILE: p, OTEL_LOG_LEVEL: 'debug' });
  assert.ok(e.ok);
  assert.equal(e.config.values.OTEL_LOG_LEVEL, 'debug');
  assert.equal(e.config.sources.OTEL_LOG_LEVEL, 'env');
  assert.equal(e.config.values.OTEL_TRACES_SAMPLER, 'parentbased_traceidratio');
  assert.equal(e.config.sources.OTEL_TRACES_SAMPLER, 'file');
  assert.equal(e.config.values.OTEL_EXPERIMENTAL_CONFIG_FILE, undefined);
  const old = effectiveConfig({ OTEL_EXPERIMENTAL_CONFIG_FILE: p });
  assert.ok(old.ok && old.config.sources.OTEL_BSP_SCHEDULE_DELAY === 'file', 'the former variable name still works');
});

test('a bad value in the file is one warning naming the variable and the file', () => {
  const p = file('file_format: "1.0"\ntracer_provider:\n  processors:\n    - batch: { schedule_delay: soon, exporter: { console: {} } }\n');
  const e = effectiveConfig({ OTEL_CONFIG_FILE: p });
  assert.ok(e.ok);
  assert.deepEqual(e.config.warnings, [`OTEL_BSP_SCHEDULE_DELAY (from ${p})="soon" is not a number; using the default "5000"`]);
});

test('an unsupported key: one warning with file, line and key; the rest applies', () => {
  const p = file('file_format: "1.0"\nlog_level: error\ninstrumentation/development:\n  js: {}\n');
  const r = loadConfigFile(p, {});
  assert.ok(r.ok);
  assert.deepEqual(r.values, { OTEL_LOG_LEVEL: 'error' });
  assert.deepEqual(r.warnings, [`${p}:3: instrumentation/development is not supported yet; ignored`]);
});

test('errors name the file and the line: YAML syntax, wrong shape, file_format', () => {
  const syntax = file('file_format: "1.0"\nresource:\n  attributes: [\n');
  const r1 = loadConfigFile(syntax, {});
  assert.equal(r1.ok, false);
  assert.match(r1.error, new RegExp(`^${syntax}:\\d+: `));
  const shape = file('file_format: "1.0"\nresource:\n  attributes: just-a-string\n');
  const r2 = loadConfigFile(shape, {});
  assert.equal(r2.ok, false);
  assert.equal(r2.error, `${shape}:3: resource.attributes must be a list of {name, value}`);
  const format = file('file_format: "2.0"\n');
  assert.equal(loadConfigFile(format, {}).error, `${format}:1: file_format "2.0" is not 1.x`);
  assert.match(loadConfigFile(file('disabled: true\n'), {}).error, /file_format is missing/);
  assert.match(loadConfigFile(join(dir, 'missing.yaml'), {}).error, /missing\.yaml: cannot be read/);
});
