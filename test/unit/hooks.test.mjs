import assert from 'node:assert/strict';
import { test } from 'node:test';
import { candidateNames } from '../../dist/hooks/module-names.js';
import { has } from '../../dist/node-features.js';

test('a specifier maps to itself and to its package', () => {
  assert.deepEqual(candidateNames('pg'), ['pg']);
  assert.deepEqual(candidateNames('pg/lib/client.js'), ['pg/lib/client.js', 'pg']);
  assert.deepEqual(candidateNames('@redis/client'), ['@redis/client']);
  assert.deepEqual(candidateNames('@aws-sdk/middleware-stack/dist/x.js'), ['@aws-sdk/middleware-stack/dist/x.js', '@aws-sdk/middleware-stack']);
  assert.deepEqual(candidateNames('node:http'), ['http']);
  assert.deepEqual(candidateNames('node:fs/promises'), ['fs/promises', 'fs']);
});

test('relative, absolute and URL specifiers name no package', () => {
  for (const s of ['./pg', '../express', '/abs/pg/index.js', 'file:///x/pg/index.js', 'data:text/javascript,1', 'C:\\x\\pg']) assert.deepEqual(candidateNames(s), [], s);
});

test('node version gates', () => {
  assert.equal(has('supported', '22.14.0'), false);
  assert.equal(has('supported', '22.15.0'), true);
  assert.equal(has('supported', '20.20.2'), false);
  assert.equal(has('supported', '24.0.0'), true);
  assert.equal(has('syncEsmHooks', '22.22.2'), false);
  assert.equal(has('syncEsmHooks', '22.22.3'), true);
  assert.equal(has('syncEsmHooks', '23.11.0'), false);
  assert.equal(has('syncEsmHooks', '24.11.0'), false);
  assert.equal(has('syncEsmHooks', '24.11.1'), true);
  assert.equal(has('syncEsmHooks', '26.0.0'), true);
  assert.equal(has('registerHooks', '23.4.0'), false);
  assert.equal(has('registerHooks', '23.5.0'), true);
});

test('process names and the include/exclude filters', async () => {
  const { processNames, filteredOut } = await import('../../dist/guard.js');
  assert.deepEqual(processNames('/usr/lib/node_modules/npm/bin/npm-cli.js'), ['npm-cli', 'npm']);
  assert.deepEqual(processNames('/app/node_modules/@scope/tool/bin/run.mjs'), ['run', '@scope/tool']);
  assert.deepEqual(processNames('/srv/app/server.ts'), ['server']);
  assert.deepEqual(processNames(undefined), []);
  const tooling = { include: [], exclude: ['npm', 'yarn'] };
  assert.match(filteredOut(tooling, '/usr/lib/node_modules/npm/bin/npm-cli.js'), /"npm" is in OTEL_NODE_EXCLUDE_PROCESSES/);
  assert.equal(filteredOut(tooling, '/srv/app/server.js'), undefined);
  assert.equal(filteredOut(tooling, undefined), undefined);
  assert.equal(filteredOut({ include: ['server'], exclude: ['server'] }, '/srv/app/server.js'), undefined);
  assert.match(filteredOut({ include: ['server'], exclude: [] }, '/srv/app/worker.js'), /not in OTEL_NODE_INCLUDE_PROCESSES/);
});
