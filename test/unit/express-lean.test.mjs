// The lean Express instrumentation's parts (src/instrumentations/express, src/hooks/express.ts):
// when it stands in for instrumentation-express and when it gives way, that the method of
// upstream's it replaces is still the one upstream's patches call (a private method: this test
// fails when a new instrumentation-express stops calling it), and that its route building gives
// what upstream's utils give. The spans themselves: test/e2e/tracer-conformance.test.mjs.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/run.mjs';

const require = createRequire(import.meta.url);
const lean = require(join(ROOT, 'dist/instrumentations/express/index.js'));
const { buildExpress } = require(join(ROOT, 'dist/hooks/express.js'));
const { ExpressInstrumentation } = require('@opentelemetry/instrumentation-express');
const upstreamUtils = require(join(ROOT, 'node_modules/@opentelemetry/instrumentation-express/dist/utils.cjs'));
const loadLean = () => lean;

test('buildExpress: lean by default, upstream when asked or when the config has a key only upstream reads', () => {
  const l = buildExpress(ExpressInstrumentation, { enabled: false, ignoreLayersType: ['router'] }, 'lean', loadLean);
  assert.match(l.detail, /our per-request layer patch \(lean\)/);
  assert.ok(l.instance instanceof ExpressInstrumentation);
  assert.notEqual(l.instance._applyPatch, ExpressInstrumentation.prototype._applyPatch);
  assert.equal(l.instance.instrumentationName, '@opentelemetry/instrumentation-express');
  assert.equal(l.instance.instrumentationVersion, new ExpressInstrumentation({ enabled: false }).instrumentationVersion);

  const u = buildExpress(ExpressInstrumentation, { enabled: false }, 'upstream', loadLean);
  assert.match(u.detail, /OTEL_NODE_EXPRESS_INSTRUMENTATION=upstream/);
  assert.equal(u.instance._applyPatch, ExpressInstrumentation.prototype._applyPatch);

  const other = buildExpress(ExpressInstrumentation, { enabled: false, someFutureOption: true }, 'lean', loadLean);
  assert.match(other.detail, /because its config has "someFutureOption", which only instrumentation-express reads/);
  assert.equal(other.instance._applyPatch, ExpressInstrumentation.prototype._applyPatch);

  class Without {
    constructor(config) {
      this.config = config;
    }
  }
  assert.match(buildExpress(Without, {}, 'lean', loadLean).detail, /has no _applyPatch\/_getSpanName to replace/);
});

test("upstream's route/use patches reach the replaced _applyPatch (Express 5 and 4)", () => {
  for (const pkg of ['express', 'express4']) {
    const express = require(pkg);
    const { instance } = buildExpress(ExpressInstrumentation, { enabled: false }, 'lean', loadLean);
    // Upstream's module definition, as require-in-the-middle would run it (InstrumentationBase keeps them in _modules).
    const [def] = instance._modules;
    def.patch(express, require(`${pkg}/package.json`).version);
    try {
      const app = express();
      app.use(function mw(req, res, next) {
        next();
      });
      app.get('/x/:id', (req, res) => res.end());
      const stack = (pkg === 'express' ? app.router : app._router).stack;
      const ours = stack.filter((layer) => Object.getOwnPropertySymbols(layer).some((s) => s.description === 'otel-autoinstrument express layer patched'));
      assert.ok(ours.some((l) => l.name === 'mw'), `${pkg}: the middleware layer is ours`);
      assert.ok(ours.some((l) => l.route?.path === '/x/:id'), `${pkg}: the route layer is ours`);
      for (const l of ours) assert.equal(l.handle.__wrapped, true);
      // A fault of ours (here a layer whose name cannot be read) leaves the layer running untraced.
      const mw = ours.find((l) => l.name === 'mw');
      Object.defineProperty(mw, 'name', {
        get() {
          throw new Error('unreadable');
        },
      });
      let called = 0;
      mw.handle({ originalUrl: '/' }, {}, () => called++);
      assert.equal(called, 1, `${pkg}: the middleware ran and called next`);
    } finally {
      def.unpatch(express, require(`${pkg}/package.json`).version);
    }
  }
});

test("constructedRoute and matchedRoute give what upstream's getConstructedRoute and getActualMatchedRoute give", () => {
  const stacks = [[], ['/'], ['/', '/'], ['*'], ['/', '*'], ['/api', '/v1', '/users/:id'], ['/api/', '/v1'], ['/users/:id'], ['/multi/a,/multi/b'], ['/{*splat}'], ['/api', '/{*rest}'], ['/a', '/*'], ['/files/*'], ['/re\\d+'], ['/x', '/[a-z]+'], ['users'], ['/api', '//double'], ['/', '/users'], ['/other']];
  const urls = ['/', '/users/42', '/api/v1/users/7', '/api/v1', '/other', '/usersX', '/multi/a', '/files/a/b'];
  for (const paths of stacks) {
    for (const url of urls) {
      const req = { originalUrl: url };
      Object.defineProperty(req, '__ot_middlewares', { value: [...paths], enumerable: false });
      const route = lean.constructedRoute(paths);
      assert.equal(route, upstreamUtils.getConstructedRoute(req), `constructedRoute(${JSON.stringify(paths)})`);
      assert.equal(lean.matchedRoute(paths, url, route), upstreamUtils.getActualMatchedRoute(req), `matchedRoute(${JSON.stringify(paths)}, ${url})`);
    }
  }
});
