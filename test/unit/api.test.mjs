// The programmatic API's pieces in process: option names, the docs table, the published types,
// and the @opentelemetry/api sharing rule.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/run.mjs';

const require = createRequire(import.meta.url);
const { OPTION_VARS, optionName, optionLayer } = require(join(ROOT, 'dist/options.js'));
const { FLAGS } = require(join(ROOT, 'dist/cli/flags.js'));
const { canSee } = require(join(ROOT, 'dist/api/copy.js'));
const { parseConfig } = require(join(ROOT, 'dist/config/parse.js'));

test('one option per otel-instrument flag, named by camel-casing it', () => {
  const camel = (flag) => flag.replace(/^--/, '').replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
  assert.deepEqual(
    OPTION_VARS.map(optionName),
    FLAGS.map((f) => camel(f.long)),
  );
  assert.equal(optionName('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'), 'exporterOtlpTracesEndpoint');
  assert.equal(optionName('OTEL_NODE_RUNTIME_METRICS_EXTRAS'), 'nodeRuntimeMetricsExtras');
});

test('options become the layer above the environment, in the variables\' own syntax', () => {
  const { layer, warnings } = optionLayer({ serviceName: 'shop', tracesExporter: ['otlp', 'console'], resourceAttributes: { 'a b': 'c,d' }, bspScheduleDelay: 10, env: {}, instrumentations: {} });
  assert.deepEqual(warnings, []);
  assert.deepEqual(layer.values, { OTEL_SERVICE_NAME: 'shop', OTEL_TRACES_EXPORTER: 'otlp,console', OTEL_RESOURCE_ATTRIBUTES: 'a%20b=c%2Cd', OTEL_BSP_SCHEDULE_DELAY: '10' });
  const c = parseConfig({ OTEL_SERVICE_NAME: 'env', OTEL_LOGS_EXPORTER: 'none' }, layer);
  assert.equal(c.values.OTEL_SERVICE_NAME, 'shop');
  assert.equal(c.sources.OTEL_SERVICE_NAME, 'option');
  assert.deepEqual(c.values.OTEL_RESOURCE_ATTRIBUTES, { 'a b': 'c,d' });
  assert.deepEqual(c.values.OTEL_LOGS_EXPORTER, ['none']);
  assert.equal(c.sources.OTEL_LOGS_EXPORTER, 'env');
  assert.deepEqual(optionLayer({ OTEL_SERVICE_NAME: 'x' }).warnings, ['start() option OTEL_SERVICE_NAME is not an option (did you mean serviceName?); ignored']);
});

test('docs/api.md lists every option and its generated part is current (node scripts/gen-api-docs.mjs when this fails)', async () => {
  const { generate } = await import('../../scripts/gen-api-docs.mjs');
  const doc = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
  assert.equal(generate(), doc);
  for (const v of OPTION_VARS) assert.ok(doc.includes(`| \`${optionName(v)}\` | \`${v}\` |`), v);
});

test('the published types: options typed from the table, wrong ones do not compile', () => {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const file = join(ROOT, 'test/fixtures/types/start-options.ts');
  // Resolved through test/fixtures/apps/node_modules/otel-autoinstrument, like an installed package.
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), file], {
    cwd: join(ROOT, 'test/fixtures/apps'),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("the API's sharing rule: same major, the reader's minor no newer; 0.x and prereleases stricter", () => {
  const cases = [
    ['1.10.0', '1.10.0', true],
    ['1.9.0', '1.10.0', true],
    ['1.10.5', '1.10.0', true],
    ['1.11.0', '1.10.0', false],
    ['2.0.0', '1.10.0', false],
    ['0.5.1', '0.5.2', true],
    ['0.5.3', '0.5.2', false],
    ['1.10.0-rc.1', '1.10.0', false],
    ['1.9.0', '1.10.0-rc.1', false],
  ];
  for (const [reader, registered, want] of cases) assert.equal(canSee(reader, registered), want, `${reader} reading ${registered}`);
});
