// src/thread.ts: isMainThread() answers without loading node:worker_threads in the main thread,
// and never mistakes a worker thread for the main one (the register hook would then start an
// SDK in every worker).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/run.mjs';

const THREAD = join(ROOT, 'dist', 'thread.js');

/** Runs `code` in a fresh node process (this test runner has loaded worker_threads itself). */
function fresh(code) {
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('the main thread is told apart without loading node:worker_threads', () => {
  const out = fresh(`const t = require(${JSON.stringify(THREAD)}); console.log(t.isMainThread(), process.moduleLoadList.includes('NativeModule worker_threads'))`);
  assert.equal(out, 'true false');
});

test('a worker thread is not the main thread', () => {
  const inWorker = `const t = require(${JSON.stringify(THREAD)}); require('node:worker_threads').parentPort.postMessage(t.isMainThread())`;
  const out = fresh(`
    const { Worker } = require('node:worker_threads');
    const w = new Worker(${JSON.stringify(inWorker)}, { eval: true });
    w.once('message', (m) => console.log('worker', m));`);
  assert.equal(out, 'worker false');
});

test('where worker_threads is loaded already, its own answer is used', () => {
  const out = fresh(`require('node:worker_threads'); console.log(require(${JSON.stringify(THREAD)}).isMainThread())`);
  assert.equal(out, 'true');
});
