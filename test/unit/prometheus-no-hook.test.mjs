// The drop-in required before the register hook's multiprocess metrics start (start() called from
// code after require('otel-autoinstrument/prometheus')): the process keeps one hub, the hook's
// settings apply to it, and what the drop-in recorded stays in the view (src/multiprocess/hub.ts).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const prom = require('../../dist/prometheus/index.js');
const { existingHub, PARENT_MARKER } = require('../../dist/multiprocess/hub.js');
const { Multiprocess } = require('../../dist/multiprocess/index.js');
const { parseConfig } = require('../../dist/config/parse.js');
const { localStore } = require('../../dist/multiprocess/local.js');

const log = () => {
  const warnings = [];
  return { warnings, level: 'warn', enabled: () => false, error: () => {}, warn: (m) => warnings.push(m), info: () => {}, debug: () => {} };
};

test('requiring the drop-in sets up the hub; the hook\'s Multiprocess started afterwards takes it over instead of making a second', async () => {
  const hub = existingHub();
  assert.ok(hub, 'requiring the drop-in made the hub');
  assert.equal(process.env[PARENT_MARKER], String(process.pid), 'children forked from now on know this process collects');
  const store = localStore();
  const c = new prom.Counter({ name: 'before_hook_total', help: 'h' });
  c.inc(4);
  const l = log();
  const mp = new Multiprocess(parseConfig({ OTEL_NODE_MULTIPROCESS_GAUGE_POLICY: 'max' }).values, l);
  assert.equal(existingHub(), hub, 'one hub per process');
  assert.equal(localStore(), store, 'the drop-in keeps its store');
  assert.equal(mp.child, false);
  assert.equal(hub.options.policy('any.gauge'), 'max', "the hook's gauge policy applies");
  c.inc(1);
  assert.match(await prom.register.metrics(), /^before_hook_total 5$/m);
  assert.deepEqual(l.warnings, []);
});

test("without any multiprocess variable of the user's, the drop-in's settings are the table's reader's, without loading it", () => {
  const { settings } = require('../../dist/multiprocess/standalone.js');
  const { readVars } = require('../../dist/config/read.js');
  const { MULTIPROCESS_VARS } = require('../../dist/config/table-multiprocess.js');
  for (const env of [{}, { OTEL_NODE_MULTIPROCESS_PARENT: '123' }, { OTEL_NODE_MULTIPROCESS_PARENT: ' 123 ', OTEL_NODE_MULTIPROCESS_INTERVAL: '' }]) {
    assert.deepEqual(settings(env), readVars(MULTIPROCESS_VARS, env), JSON.stringify(env));
  }
  // A variable of the user's goes through the reader: its value, or its one warning.
  assert.equal(settings({ OTEL_NODE_MULTIPROCESS_INTERVAL: '250' }).values.OTEL_NODE_MULTIPROCESS_INTERVAL, 250);
  assert.deepEqual(settings({ OTEL_NODE_MULTIPROCESS_METRICS: 'sometimes' }).warnings, readVars(MULTIPROCESS_VARS, { OTEL_NODE_MULTIPROCESS_METRICS: 'sometimes' }).warnings);
  assert.equal(settings({ OTEL_NODE_MULTIPROCESS_METRICS: 'sometimes' }).warnings.length, 1);
});
