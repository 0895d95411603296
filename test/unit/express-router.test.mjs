// Which resolves of `router` load the router instrumentation (src/selection.ts, src/hooks/covered.ts);
// test/e2e/express-router.test.mjs runs the real apps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectInstrumentations } from '../../dist/start.js';
import { parseConfig } from '../../dist/config/parse.js';
import { coveredReason, fromModuleHook, insidePackage } from '../../dist/hooks/covered.js';

const router = (env) => selectInstrumentations(parseConfig(env).values).find((d) => d.name === 'router');

test('by default router is covered by express for express\'s own resolves; the option or express off undo it', () => {
  assert.deepEqual(router({}).coveredBy, { package: 'express', instrumentation: 'express', restore: 'OTEL_NODE_EXPRESS_ROUTER_SPANS=true' });
  assert.equal(router({ OTEL_NODE_EXPRESS_ROUTER_SPANS: 'true' }).coveredBy, undefined);
  assert.equal(router({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'express' }).coveredBy, undefined);
  assert.equal(router({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,router' }).coveredBy, undefined);
  assert.ok(router({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,express,router' }).coveredBy);
});

test('a resolve from inside express, with express instrumented, is covered; from anywhere else it is not', () => {
  const d = router({});
  const loaded = () => true;
  for (const parent of [
    'file:///app/node_modules/express/lib/application.js',
    'file:///app/node_modules/.pnpm/express@5.1.0/node_modules/express/lib/express.js',
    'file:///app/.yarn/cache/express-npm-5.1.0-abc.zip/node_modules/express/lib/express.js',
    'file:///C:/app/node_modules/express/lib/application.js',
  ])
    assert.match(coveredReason(d, 'router', parent, loaded) ?? '', /express loaded router/, parent);
  assert.equal(coveredReason(d, 'router', 'file:///app/server.js', loaded), undefined);
  assert.equal(coveredReason(d, 'router', 'file:///app/node_modules/express-session/index.js', loaded), undefined);
  assert.equal(coveredReason(d, 'router', undefined, loaded), undefined);
  // express's instrumentation failed to load: nothing else records the layers.
  assert.equal(coveredReason(d, 'router', 'file:///app/node_modules/express/lib/application.js', () => false), undefined);
  assert.equal(coveredReason(router({ OTEL_NODE_EXPRESS_ROUTER_SPANS: 'true' }), 'router', 'file:///app/node_modules/express/lib/application.js', loaded), undefined);
});

test("the hooking libraries' own repeat resolves are recognised", () => {
  assert.ok(fromModuleHook('file:///app/node_modules/require-in-the-middle/index.js'));
  assert.ok(fromModuleHook('file:///app/node_modules/import-in-the-middle/lib/register.js'));
  assert.ok(!fromModuleHook('file:///app/server.js'));
  assert.ok(!fromModuleHook(undefined));
  assert.ok(insidePackage('C:\\app\\node_modules\\express\\index.js', 'express'));
});
