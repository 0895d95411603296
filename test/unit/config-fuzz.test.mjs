// Random strings in every variable: parsing never throws, every value keeps its type, and every
// warning names its variable. Seeded, so a failure can be replayed with FUZZ_SEED.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CATALOG } from '../../dist/catalog/catalog.generated.js';
import { instrumentationOptions, optionVariable } from '../../dist/config/instrumentation-options.js';
import { parseConfig } from '../../dist/config/parse.js';
import { TABLE } from '../../dist/config/table.js';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1e9);

/** mulberry32: small, seedable, good enough to pick characters. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['', ' ', ',', '=', '%', '%2C', '%zz', 'true', 'FALSE', '-1', '0', '1e309', 'NaN', '0.5', 'otlp', 'none', 'grpc', 'http://', 'https://x:99/p', 'file:///etc', 'é', '😀', '\t', '"', "'", '\\', 'a=b', '\u0000', '${X}', 'k=v,k2', '  otlp , console ', 'http/json'];

function randomValue(next) {
  let s = '';
  const n = Math.floor(next() * 5);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(next() * PIECES.length)];
  if (next() < 0.2) s += String.fromCharCode(Math.floor(next() * 0xffff));
  return s;
}

const typeOf = (v) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

test(`2,000 random environments (FUZZ_SEED=${SEED})`, () => {
  const next = rng(SEED);
  const names = Object.keys(TABLE);
  const optionVars = CATALOG.flatMap((d) => (d.options ?? []).map((o) => optionVariable(d.name, o.name)));
  for (let i = 0; i < 2000; i++) {
    const env = {};
    for (const n of names) if (next() < 0.7) env[n] = randomValue(next);
    for (const v of optionVars) if (next() < 0.05) env[v] = randomValue(next);
    let c;
    let o;
    try {
      c = parseConfig(env);
      o = instrumentationOptions(env, CATALOG);
    } catch (err) {
      assert.fail(`iteration ${i} threw (${err.message}) for ${JSON.stringify(env)}`);
    }
    for (const n of names) {
      const def = TABLE[n].default;
      if (def !== undefined) assert.equal(typeOf(c.values[n]), typeOf(def), `${n} changed type for ${JSON.stringify(env[n])}`);
    }
    for (const w of [...c.warnings, ...o.warnings]) assert.match(w, /^(OTEL_[A-Z0-9_]+|AWS_LAMBDA_FUNCTION_NAME)[ =:(]/, w);
  }
});

test(`500 random config files (FUZZ_SEED=${SEED}): loading never throws, it answers ok or one error`, async () => {
  const { loadConfigFile } = await import('../../dist/config/file.js');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'otel-fuzz-file-'));
  const next = rng(SEED + 1);
  const KEYS = ['file_format', 'disabled', 'resource', 'attributes', 'name', 'value', 'tracer_provider', 'processors', 'batch', 'exporter', 'otlp_http', 'endpoint', 'sampler', 'parent_based', 'root', 'meter_provider', 'readers', 'periodic', 'propagator', 'composite', 'limits'];
  const TOKENS = [...KEYS.map((k) => `${k}:`), '- ', '  ', '\n', '{', '}', '[', ']', '"1.0"', '1.0', 'true', '${X}', '${Y:-z}', '$$', ',', '&a', '*a', '!!str', '#', '|', '>', 'é', '\t'];
  try {
    for (let i = 0; i < 500; i++) {
      let text = next() < 0.5 ? 'file_format: "1.0"\n' : '';
      const n = Math.floor(next() * 40);
      for (let j = 0; j < n; j++) text += TOKENS[Math.floor(next() * TOKENS.length)];
      const p = join(dir, `f${i}.yaml`);
      writeFileSync(p, text);
      let r;
      try {
        r = loadConfigFile(p, { X: 'x' });
      } catch (err) {
        assert.fail(`file ${i} threw (${err.message}):\n${text}`);
      }
      if (r.ok) for (const w of r.warnings) assert.ok(w.startsWith(p), w);
      else assert.ok(r.error.startsWith(p), r.error);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every bad value of every variable, generated from the table: exactly one warning naming the variable, the value and what is used instead', async () => {
  const { parserBadValues, BLANKS } = await import('../helpers/bad-values.mjs');
  const cases = parserBadValues();
  assert.ok(cases.length > 150, `only ${cases.length} cases`);
  for (const { name, value, sensitive } of cases) {
    const c = parseConfig({ [name]: value });
    assert.equal(c.warnings.length, 1, `${name}=${JSON.stringify(value)}: ${JSON.stringify(c.warnings)}`);
    const w = c.warnings[0];
    assert.ok(w.startsWith(`${name}=`), w);
    assert.ok(w.includes(sensitive ? 'REDACTED' : JSON.stringify(value)), w);
    assert.match(w, /; (using |leaving it unset)/, w);
    assert.deepEqual(parseConfig({}).values[name] === undefined ? undefined : typeof parseConfig({}).values[name], c.values[name] === undefined ? undefined : typeof c.values[name]);
  }
  for (const name of Object.keys(TABLE)) for (const blank of BLANKS) assert.deepEqual(parseConfig({ [name]: blank }).warnings, [], `${name}=${JSON.stringify(blank)}`);
});

test('a value past a related one (a batch larger than its queue, a metric export timeout past its interval): one warning, and the related value is used', () => {
  const c = parseConfig({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '5000' });
  assert.deepEqual(c.warnings, ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE=5000 is more than OTEL_BSP_MAX_QUEUE_SIZE (2048); using 2048']);
  assert.equal(c.values.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 2048);
  const q = parseConfig({ OTEL_BLRP_MAX_QUEUE_SIZE: '100' });
  assert.deepEqual(q.warnings, [], 'the default batch size follows a smaller queue silently');
  assert.equal(q.values.OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, 100);
  const m = parseConfig({ OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_METRIC_EXPORT_TIMEOUT: '5000' });
  assert.deepEqual(m.warnings, ['OTEL_METRIC_EXPORT_TIMEOUT=5000 is more than OTEL_METRIC_EXPORT_INTERVAL (1000); using 1000']);
});
