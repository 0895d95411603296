import assert from 'node:assert/strict';
import { test } from 'node:test';
import { candidateNames } from '../../dist/hooks/module-names.js';
import { has } from '../../dist/node-features.js';
import { concerns, deferredBuiltin, lazyModule, packageOfPath } from '../../dist/hooks/require-filter.js';

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

test('the require filter: which requires can reach a watched module, by names alone', () => {
  assert.equal(packageOfPath('/app/node_modules/express/lib/router/index.js'), 'express');
  assert.equal(packageOfPath('/app/node_modules/.pnpm/pg@8.11.0/node_modules/pg/lib/client.js'), 'pg');
  assert.equal(packageOfPath('/app/node_modules/@redis/client/dist/index.js'), '@redis/client');
  assert.equal(packageOfPath('/app/src/index.js'), undefined);
  const watched = new Set(['express', 'http', 'pg', '@redis/client']);
  const inExpress = '/app/node_modules/express/index.js';
  const inApp = '/app/src/index.js';
  const cases = [
    ['express', inApp, true],
    ['express/lib/router', inApp, true],
    ['node:http', inApp, true],
    ['http', inExpress, true],
    ['path', inExpress, false],
    ['body-parser', inExpress, false],
    ['./lib/express', inExpress, true],
    ['../pg/lib/client.js', inExpress, true],
    ['../body-parser', inExpress, false],
    ['./lib/db', inApp, false],
    ['./node_modules/pg', inApp, true],
    ['/app/node_modules/@redis/client/dist/index.js', inApp, true],
    ['/app/src/db.js', inApp, false],
    ['#db', inApp, true],
    ['./x', undefined, true],
    ['./preload.cjs', null, true],
  ];
  for (const [id, parent, want] of cases) assert.equal(concerns(id, parent, watched), want, `${id} from ${parent}`);
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

test("the SDK's warnings and errors are printed once each, whatever trace and span ids they quote", async () => {
  const { installDiag } = await import('../../dist/diag.js');
  const lines = [];
  const log = { level: 'info', enabled: () => true, error: (m) => lines.push(`error ${m}`), warn: (m) => lines.push(`warn ${m}`), info: (m) => lines.push(`info ${m}`), debug: () => undefined };
  let sink;
  installDiag({ diag: { setLogger: (l) => (sink = l) } }, log);
  for (const [trace, span] of [['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331'], ['4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7']]) {
    sink.warn(`Cannot execute the operation on ended Span {traceId: ${trace}, spanId: ${span}}`);
    sink.error(`middleware - x ${trace}-${span} - You can only call end() on a span once.`);
  }
  sink.warn('another warning');
  assert.deepEqual(lines, [
    'warn sdk: Cannot execute the operation on ended Span {traceId: 0af7651916cd43dd8448eb211c80319c, spanId: b7ad6b7169203331}',
    'error sdk: middleware - x 0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331 - You can only call end() on a span once.',
    'warn sdk: another warning',
  ]);
});

test('deferred builtins: tls for the net instrumentation only', () => {
  const net = '/app/node_modules/@opentelemetry/instrumentation-net/dist/instrumentation.cjs';
  assert.equal(deferredBuiltin(net, 'tls'), true);
  assert.equal(deferredBuiltin(net, 'node:tls'), true);
  assert.equal(deferredBuiltin(net, 'net'), false);
  assert.equal(deferredBuiltin('/app/node_modules/undici/index.js', 'tls'), false);
  assert.equal(deferredBuiltin('/app/src/index.js', 'tls'), false);
  assert.equal(deferredBuiltin(undefined, 'tls'), false);
});

test('a lazy module loads at its first touch, once, and shows the real exports', () => {
  let loads = 0;
  class Socket {}
  const real = { Socket, connect: () => 'ok' };
  const lazy = lazyModule(() => {
    loads++;
    return real;
  });
  assert.equal(loads, 0);
  assert.equal(new Socket() instanceof lazy.Socket, true);
  assert.equal(lazy.connect(), 'ok');
  assert.equal(loads, 1);
  assert.deepEqual(Object.keys(lazy), ['Socket', 'connect']);
  assert.equal('connect' in lazy, true);
  lazy.extra = 1;
  assert.equal(real.extra, 1);
  assert.equal(loads, 1);
  const failing = lazyModule(() => {
    throw new Error('no such module');
  });
  assert.throws(() => failing.x, /no such module/);
});
