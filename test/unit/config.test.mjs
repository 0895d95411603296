import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeConfig, parseConfig } from '../../dist/config/parse.js';
import { TABLE } from '../../dist/config/table.js';

test('defaults follow the SDK environment spec', () => {
  const c = parseConfig({});
  assert.deepEqual(c.warnings, []);
  assert.equal(c.values.OTEL_SDK_DISABLED, false);
  assert.deepEqual(c.values.OTEL_TRACES_EXPORTER, ['otlp']);
  assert.deepEqual(c.values.OTEL_METRICS_EXPORTER, ['otlp']);
  assert.deepEqual(c.values.OTEL_LOGS_EXPORTER, ['otlp']);
  assert.equal(c.values.OTEL_EXPORTER_OTLP_PROTOCOL, 'http/protobuf');
  assert.equal(c.values.OTEL_TRACES_SAMPLER, 'parentbased_always_on');
  assert.deepEqual(c.values.OTEL_PROPAGATORS, ['tracecontext', 'baggage']);
  assert.equal(c.values.OTEL_LOG_LEVEL, 'info');
  assert.equal(c.sources.OTEL_TRACES_EXPORTER, 'default');
});

test('blank values count as unset', () => {
  const c = parseConfig({ OTEL_TRACES_EXPORTER: '  ', OTEL_SERVICE_NAME: '' });
  assert.deepEqual(c.warnings, []);
  assert.deepEqual(c.values.OTEL_TRACES_EXPORTER, ['otlp']);
  assert.equal(c.values.OTEL_SERVICE_NAME, undefined);
});

test('valid values are parsed and their source is env', () => {
  const c = parseConfig({
    OTEL_SDK_DISABLED: 'TRUE',
    OTEL_TRACES_EXPORTER: 'console, otlp',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    OTEL_TRACES_SAMPLER: 'traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.25',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,team=a%2Cb',
    OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'fs,net',
  });
  assert.deepEqual(c.warnings, []);
  assert.equal(c.values.OTEL_SDK_DISABLED, true);
  assert.deepEqual(c.values.OTEL_TRACES_EXPORTER, ['console', 'otlp']);
  assert.equal(c.values.OTEL_EXPORTER_OTLP_PROTOCOL, 'grpc');
  assert.equal(c.values.OTEL_TRACES_SAMPLER_ARG, 0.25);
  assert.deepEqual(c.values.OTEL_RESOURCE_ATTRIBUTES, { 'deployment.environment.name': 'prod', team: 'a,b' });
  assert.deepEqual(c.values.OTEL_NODE_DISABLED_INSTRUMENTATIONS, ['fs', 'net']);
  assert.equal(c.sources.OTEL_TRACES_EXPORTER, 'env');
});

test('a bad value gives one warning naming the variable, the value and what is used instead', () => {
  const cases = [
    ['OTEL_TRACES_EXPORTER', 'jaeger', /^OTEL_TRACES_EXPORTER="jaeger" has "jaeger", not one of otlp, console, none, zipkin; using the default "otlp"$/],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'mailto:x', /^OTEL_EXPORTER_OTLP_ENDPOINT="mailto:x" has scheme "mailto:", not http: or https:; using the default http:\/\/localhost:4318 \(4317 for grpc\)$/],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http//x', /^OTEL_EXPORTER_OTLP_ENDPOINT="http\/\/x" is not an absolute URL; using the default http:\/\/localhost:4318 \(4317 for grpc\)$/],
    ['OTEL_TRACES_SAMPLER_ARG', 'half', /^OTEL_TRACES_SAMPLER_ARG="half" is not a number; using 1.0$/],
    ['OTEL_TRACES_SAMPLER_ARG', '2', /^OTEL_TRACES_SAMPLER_ARG="2" is more than 1; using 1.0$/],
    ['OTEL_BSP_MAX_QUEUE_SIZE', '1.5', /^OTEL_BSP_MAX_QUEUE_SIZE="1.5" is not a whole number; using the default "2048"$/],
    ['OTEL_BSP_SCHEDULE_DELAY', '99999999999999999999', /^OTEL_BSP_SCHEDULE_DELAY="99999999999999999999" is more than 2147483647 \(the longest delay Node's timers allow\); using the default "5000"$/],
    ['OTEL_EXPORTER_OTLP_TIMEOUT', '0', /^OTEL_EXPORTER_OTLP_TIMEOUT="0" is less than 1; using the default "10000"$/],
    ['OTEL_SDK_DISABLED', 'yes', /^OTEL_SDK_DISABLED="yes" is not "true" or "false"; using the default "false"$/],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'http', /^OTEL_EXPORTER_OTLP_PROTOCOL="http" is not one of http\/protobuf, http\/json, grpc; using the default "http\/protobuf"$/],
  ];
  for (const [name, value, re] of cases) {
    const c = parseConfig({ [name]: value });
    assert.equal(c.warnings.length, 1, `${name}=${value}: ${c.warnings.join(' | ')}`);
    assert.match(c.warnings[0], re);
    assert.deepEqual(c.values[name], TABLE[name].default);
    assert.equal(c.sources[name], 'default');
  }
});

test('a bare host:port endpoint is taken as http://host:port, with one warning', () => {
  const c = parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '[::1]:4318/v1/traces' });
  assert.deepEqual(c.warnings, ['OTEL_EXPORTER_OTLP_ENDPOINT="localhost:4318" has no scheme; using "http://localhost:4318"', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="[::1]:4318/v1/traces" has no scheme; using "http://[::1]:4318/v1/traces"']);
  assert.equal(c.values.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://localhost:4318');
  assert.equal(c.values.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, 'http://[::1]:4318/v1/traces');
});

test('a list keeps its valid entries and names the dropped ones', () => {
  const c = parseConfig({ OTEL_PROPAGATORS: 'tracecontext,xray,baggage' });
  assert.deepEqual(c.values.OTEL_PROPAGATORS, ['tracecontext', 'baggage']);
  assert.equal(c.warnings.length, 1);
  assert.match(c.warnings[0], /^OTEL_PROPAGATORS="tracecontext,xray,baggage" has "xray", not one of .*; ignored; using "tracecontext,baggage"$/);
});

test('unknown instrumentation names are named in one warning, checked against the catalog and plugins', async () => {
  const { unknownInstrumentationNames } = await import('../../dist/start.js');
  const { CATALOG } = await import('../../dist/catalog/catalog.generated.js');
  const c = parseConfig({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,expresss,acme-db' });
  assert.deepEqual(c.warnings, []);
  const w = unknownInstrumentationNames(c.values, CATALOG);
  assert.equal(w.length, 1);
  assert.match(w[0], /^OTEL_NODE_ENABLED_INSTRUMENTATIONS has "expresss", "acme-db", which no built-in or plugin instrumentation is called; ignored$/);
  assert.deepEqual(unknownInstrumentationNames(c.values, [...CATALOG, { name: 'acme-db' }, { name: 'expresss' }]), []);
});

test('distro defaults sit between the table defaults and the environment', () => {
  const distro = { values: { OTEL_TRACES_SAMPLER: 'always_off', OTEL_SERVICE_NAME: 'from-distro', OTEL_BOGUS: 'x', OTEL_TRACES_SAMPLER_ARG: 'half' }, from: 'acme-distro@1.0.0' };
  const c = parseConfig({ OTEL_SERVICE_NAME: 'from-env' }, {}, distro);
  assert.equal(c.values.OTEL_TRACES_SAMPLER, 'always_off');
  assert.equal(c.sources.OTEL_TRACES_SAMPLER, 'distro');
  assert.equal(c.values.OTEL_SERVICE_NAME, 'from-env');
  assert.equal(c.sources.OTEL_SERVICE_NAME, 'env');
  assert.ok(c.warnings.includes('OTEL_TRACES_SAMPLER_ARG (default of distro acme-distro@1.0.0)="half" is not a number; using 1.0'), c.warnings.join('\n'));
  assert.ok(c.warnings.includes('distro acme-distro@1.0.0: default OTEL_BOGUS is not a variable otel-autoinstrument reads; ignored'));
  const f = parseConfig({ OTEL_TRACES_SAMPLER: 'always_on' }, { OTEL_TRACES_SAMPLER: 'traceidratio' }, distro);
  assert.equal(f.values.OTEL_TRACES_SAMPLER, 'traceidratio');
  assert.equal(f.sources.OTEL_TRACES_SAMPLER, 'flag');
});

test('secrets never appear in warnings or in the effective-config dump', () => {
  const c = parseConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20s3cret,broken-s3cret' });
  assert.deepEqual(c.values.OTEL_EXPORTER_OTLP_HEADERS, { authorization: 'Bearer s3cret' });
  assert.equal(c.warnings.length, 1);
  assert.doesNotMatch(c.warnings[0], /s3cret/);
  assert.match(c.warnings[0], /OTEL_EXPORTER_OTLP_HEADERS=\[REDACTED\] has 1 malformed entry/);
  const dump = describeConfig(c).join('\n');
  assert.doesNotMatch(dump, /s3cret/);
  assert.match(dump, /^OTEL_EXPORTER_OTLP_HEADERS=\[REDACTED\] \(env\)$/m);
});

test('every variable has a description, a group, and a name in our namespace or the spec', () => {
  for (const [name, spec] of Object.entries(TABLE)) {
    assert.ok(spec.description.length > 10, name);
    assert.ok(spec.group, name);
    if (!spec.standard && name.startsWith('OTEL_')) assert.match(name, /^OTEL_NODE_/, `${name} is ours, so it must be OTEL_NODE_*`);
  }
});

test('every variable: blank is unset, and a nonsense value is either accepted as text or refused with one warning naming it', () => {
  const nonsense = '%%nonsense, =%%';
  for (const [name, spec] of Object.entries(TABLE)) {
    const blank = parseConfig({ [name]: '   ' });
    assert.deepEqual(blank.warnings, [], name);
    assert.deepEqual(blank.values[name], spec.default, name);
    const c = parseConfig({ [name]: nonsense });
    if (c.sources[name] === 'env' && c.warnings.length === 0) continue; // free text (names, lists)
    assert.equal(c.warnings.filter((w) => w.startsWith(`${name}=`)).length, 1, `${name}: ${c.warnings.join(' | ')}`);
    if (spec.sensitive) assert.ok(!c.warnings.join('').includes('nonsense'), `${name} leaked its value`);
  }
});

test('numbers: out of range and non-numeric values are refused, valid ones kept', () => {
  const c = parseConfig({ OTEL_BSP_MAX_QUEUE_SIZE: '0', OTEL_BSP_SCHEDULE_DELAY: '250', OTEL_METRIC_EXPORT_INTERVAL: '1e3', OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' });
  assert.equal(c.values.OTEL_BSP_MAX_QUEUE_SIZE, 2048);
  assert.equal(c.values.OTEL_BSP_SCHEDULE_DELAY, 250);
  assert.equal(c.values.OTEL_METRIC_EXPORT_INTERVAL, 1000);
  assert.equal(c.values.OTEL_EXPORTER_OTLP_TIMEOUT, 10000);
  assert.equal(c.warnings.length, 2);
});

test('per-signal OTLP settings win over the general ones; headers are merged', async () => {
  const { otlpSettings } = await import('../../dist/sdk/exporters.js');
  const general = parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/', OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=2', OTEL_EXPORTER_OTLP_TIMEOUT: '5000' });
  assert.deepEqual(otlpSettings(general, 'traces'), { protocol: 'http/protobuf', url: 'http://collector:4318/v1/traces', headers: { a: '1', b: '2' }, timeoutMillis: 5000, compression: 'none', tls: {} });
  const signal = parseConfig({
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=2',
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:9/custom',
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
    OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'b=3',
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '100',
    OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'gzip',
  });
  assert.deepEqual(otlpSettings(signal, 'metrics'), { protocol: 'grpc', url: 'http://m:9/custom', headers: { a: '1', b: '3' }, timeoutMillis: 100, compression: 'gzip', tls: {} });
  assert.deepEqual(otlpSettings(signal, 'logs'), { protocol: 'http/json', url: 'http://localhost:4318/v1/logs', headers: { a: '1', b: '2' }, timeoutMillis: 10000, compression: 'none', tls: {} });
  assert.equal(otlpSettings(parseConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), 'traces').url, 'http://localhost:4317');
});

test('a likely typo of a variable we read gets a "did you mean"; other OTEL_* variables are left alone', () => {
  const c = parseConfig({ OTEL_SERVICE_NAM: 'shop', OTEL_TRACE_EXPORTER: 'console', OTEL_PYTHON_LOG_CORRELATION: 'true', OTEL_SERVICE_NAME: 'ok' });
  assert.deepEqual(c.warnings, [
    'OTEL_SERVICE_NAM is not a variable otel-autoinstrument reads; did you mean OTEL_SERVICE_NAME?',
    'OTEL_TRACE_EXPORTER is not a variable otel-autoinstrument reads; did you mean OTEL_TRACES_EXPORTER?',
  ]);
});

test('per-instrumentation options: one rule, typed by the generated catalog, one warning per bad variable', async () => {
  const { instrumentationOptions, optionVariable } = await import('../../dist/config/instrumentation-options.js');
  const { CATALOG } = await import('../../dist/catalog/catalog.generated.js');
  assert.equal(optionVariable('socket.io', 'emitIgnoreEventList'), 'OTEL_NODE_INSTRUMENTATION_SOCKET_IO_EMIT_IGNORE_EVENT_LIST');
  const r = instrumentationOptions(
    {
      OTEL_NODE_INSTRUMENTATION_PG_ENHANCED_DATABASE_REPORTING: 'true',
      OTEL_NODE_INSTRUMENTATION_MYSQL2_MASK_STATEMENT: 'false',
      OTEL_NODE_INSTRUMENTATION_EXPRESS_IGNORE_LAYERS_TYPE: 'middleware, router',
      OTEL_NODE_INSTRUMENTATION_KNEX_MAX_QUERY_LENGTH: '200',
      OTEL_NODE_INSTRUMENTATION_PG_ENHANCED: 'true',
      OTEL_NODE_INSTRUMENTATION_NOPE_X: '1',
      OTEL_NODE_INSTRUMENTATION_KNEX_REQUIRE_PARENT_SPAN: 'yes',
      OTEL_NODE_INSTRUMENTATION_HTTP_REDACTED_QUERY_PARAMS: '  ',
    },
    CATALOG,
  );
  assert.deepEqual(Object.fromEntries(r.byName), {
    pg: { enhancedDatabaseReporting: true },
    mysql2: { maskStatement: false },
    express: { ignoreLayersType: ['middleware', 'router'] },
    knex: { maxQueryLength: 200 },
  });
  assert.equal(r.warnings.length, 3, r.warnings.join('\n'));
  assert.match(r.warnings[0], /^OTEL_NODE_INSTRUMENTATION_PG_ENHANCED: instrumentation pg has no option ENHANCED \(settable options: ENHANCED_DATABASE_REPORTING, /);
  assert.match(r.warnings[1], /^OTEL_NODE_INSTRUMENTATION_NOPE_X names no known instrumentation/);
  assert.match(r.warnings[2], /^OTEL_NODE_INSTRUMENTATION_KNEX_REQUIRE_PARENT_SPAN="yes" is not "true" or "false" \(knex's requireParentSpan is a boolean\); knex keeps its default$/);
});

test('a password in an endpoint URL is never shown, valid or not', () => {
  const ok = parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:pw-s3cret@collector:4318' });
  assert.equal(ok.values.OTEL_EXPORTER_OTLP_ENDPOINT, 'https://user:pw-s3cret@collector:4318', 'the exporter still gets it');
  assert.doesNotMatch(describeConfig(ok).join('\n'), /s3cret/);
  assert.match(describeConfig(ok).join('\n'), /OTEL_EXPORTER_OTLP_ENDPOINT=https:\/\/REDACTED@collector:4318 \(env\)/);
  const bad = parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://user:pw-s3cret@collector' });
  assert.equal(bad.warnings.length, 1);
  assert.doesNotMatch(bad.warnings[0], /s3cret/);
});
