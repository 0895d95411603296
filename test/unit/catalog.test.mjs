import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { CATALOG } from '../../dist/catalog/catalog.generated.js';
import { selectInstrumentations } from '../../dist/start.js';
import { parseConfig } from '../../dist/config/parse.js';
import { ROOT } from '../helpers/run.mjs';

test('the generated catalog matches the installed packages (npm run gen:catalog when this fails)', async () => {
  const { generate } = await import('../../scripts/gen-catalog.mjs');
  const committed = readFileSync(join(ROOT, 'src/catalog/catalog.generated.ts'), 'utf8');
  assert.equal(generate(), committed);
});

test('every catalog entry names a loadable package and export', () => {
  const from = createRequire(join(ROOT, 'package.json')).resolve('@opentelemetry/auto-instrumentations-node');
  const req = createRequire(from);
  assert.ok(CATALOG.length >= 40, `only ${CATALOG.length} entries`);
  for (const d of CATALOG) {
    assert.ok(req.resolve(d.package), d.package);
    if (d.activation === 'module') assert.ok(d.modules.length > 0, `${d.name} has no target modules`);
  }
});

test('default selection follows upstream: all but fs and host-metrics, aws-lambda only in Lambda', () => {
  const names = selectInstrumentations(parseConfig({}).values).map((d) => d.name);
  assert.ok(names.includes('http') && names.includes('express') && names.includes('pg'));
  assert.ok(!names.includes('fs'));
  assert.ok(!names.includes('host-metrics'));
  assert.ok(!names.includes('aws-lambda'));
  const inLambda = selectInstrumentations(parseConfig({ AWS_LAMBDA_FUNCTION_NAME: 'f' }).values).map((d) => d.name);
  assert.ok(inLambda.includes('aws-lambda'));
});

test('enabled and disabled lists select by short name, disabled wins', () => {
  const v = parseConfig({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,fs,pg', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'pg' }).values;
  assert.deepEqual(selectInstrumentations(v).map((d) => d.name).sort(), ['fs', 'http']);
});

test('docs/configuration.md is generated from the current env table (npm run gen:docs when this fails)', async () => {
  const { generate } = await import('../../scripts/gen-config-docs.mjs');
  assert.equal(generate(), readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8'));
});

test('docs/support.md is generated from the conformance table (npm run gen:support when this fails)', async () => {
  const { generate } = await import('../../scripts/gen-support-table.mjs');
  assert.equal(generate(), readFileSync(join(ROOT, 'docs/support.md'), 'utf8'));
});
