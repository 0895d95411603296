import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stateOf } from '../../dist/async/recorder.js';
import { parseTargets } from '../../dist/async/targets.js';
import { workerName } from '../../dist/async/worker-main.js';
import { APPS } from '../helpers/run.mjs';

test('stateOf: AbortError is cancelled, TimeoutError (or an AbortError caused by one) is timeout, anything else exception', () => {
  assert.equal(stateOf(new DOMException('x', 'AbortError')), 'cancelled');
  assert.equal(stateOf(new DOMException('x', 'TimeoutError')), 'timeout');
  assert.equal(stateOf(Object.assign(new Error('x'), { name: 'AbortError', cause: new DOMException('t', 'TimeoutError') })), 'timeout');
  assert.equal(stateOf(new TypeError('x')), 'exception');
  assert.equal(stateOf('a string'), 'exception');
  assert.equal(stateOf(undefined), 'exception');
});

test('parseTargets: files from the working directory (extension optional), packages, unqualified names; bad entries warned and left out', () => {
  const t = parseTargets(['./async/jobs.cjs:add', './async/jobs:sendInvoices', 'async-fixture-pkg:charge', 'node:fs:readFile', 'sendInvoices', './missing.js:x', 'pkg:', 'default', 'not a/pkg!:x'], APPS);
  const jobs = realpathSync(join(APPS, 'async/jobs.cjs'));
  // ./async/jobs: no jobs or jobs.js there, so jobs.cjs, the same file
  assert.deepEqual([...t.files.keys()], [jobs]);
  assert.deepEqual([...t.files.get(jobs)], ['add', 'sendInvoices']);
  assert.deepEqual([...t.packages.get('async-fixture-pkg')], ['charge']);
  assert.deepEqual([...t.packages.get('fs')], ['readFile']);
  assert.deepEqual([...t.anywhere], ['sendInvoices']);
  assert.equal(t.warnings.length, 4, t.warnings.join('\n'));
  for (const w of t.warnings) assert.match(w, /^OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE: ".+" .+; left out$/);
});

test('workerName: relative to the working directory, "eval" for code, the scheme for other URLs', () => {
  assert.equal(workerName(join(process.cwd(), 'src/w.js'), {}), 'src/w.js');
  assert.equal(workerName(new URL(`file://${join(process.cwd(), 'a.mjs')}`), undefined), 'a.mjs');
  assert.equal(workerName('console.log(1)', { eval: true }), 'eval');
  assert.equal(workerName('data:text/javascript,1', {}), 'data:');
  assert.equal(workerName('/elsewhere/w.js', {}).endsWith('w.js'), true);
});
