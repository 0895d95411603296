// Our tracer against upstream's SDK path (OTEL_NODE_TRACER=sdk), field by field (issue 19): each
// fixture app runs twice against one receiver, once under the default tracer and once under the
// SDK path, and the two exports must be equal: resource, scopes, and for every span its name,
// kind, place in the tree, trace, trace state, flags, attributes (with their OTLP types), events,
// links, status and dropped counts. What legitimately differs between two runs is normalized, and
// only that (NORMALIZE in test/helpers/span-compare.mjs, each with its reason); span and trace ids become positions in the
// tree; times the tracer takes become 'during run' after a sanity check (times the app gives
// explicitly stay exact). Databases are real servers on 127.0.0.1 (test/helpers/services.mjs):
// missing binaries skip their apps, except under CI=true.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { canonical, describeDifference, startSpanReceiver, NORMALIZE } from '../helpers/span-compare.mjs';
import { waitFor } from '../helpers/otlp.mjs';
import { APPS as APPS_DIR, pluginApp, REGISTER, runNode } from '../helpers/run.mjs';
import { startPostgres, startRedis } from '../helpers/services.mjs';

const TRACERS = { default: {}, sdk: { OTEL_NODE_TRACER: 'sdk' } };
// Small limits, for manual-spans.cjs to overflow (its comments say which span does what).
const LIMITS = {
  OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '16',
  OTEL_SPAN_EVENT_COUNT_LIMIT: '4',
  OTEL_SPAN_LINK_COUNT_LIMIT: '4',
  OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: '3',
  OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: '2',
  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '16',
};
const MANUAL = ['root', 'root > child > grandchild', 'root > limits', 'root > events', 'root > failing', 'root > renamed', 'root > timed', 'root > linked', 'root > bare-scope', 'new-root > under-new-root', 'remote-child > remote-grandchild'];

/** Fixture apps under test/fixtures/apps/conformance; `spans`: the span labels that must be there. */
const APPS = [
  { app: 'http-fetch.cjs', mode: 'require', stdout: 'http status=200 body=got leaf', spans: ['GET > GET > GET > GET'] },
  { app: 'http-fetch.mjs', mode: 'import', stdout: 'http status=200 body=got leaf', spans: ['GET > GET > GET > GET'] },
  { app: 'express.cjs', mode: 'require', stdout: 'express status=200 body={"id":"42"}', spans: ['GET > GET /users/:id'] },
  { app: 'express.mjs', mode: 'import', stdout: 'express status=200 body={"id":"42"}', spans: ['GET > GET /users/:id'] },
  { app: 'pg.cjs', mode: 'require', service: 'pg', stdout: 'pg status=200 body=two=2', scope: '@opentelemetry/instrumentation-pg' },
  { app: 'ioredis.cjs', mode: 'require', service: 'redis', stdout: 'ioredis status=200 body=value=v1', scope: '@opentelemetry/instrumentation-ioredis' },
  { app: 'manual-spans.cjs', mode: 'require', env: LIMITS, stdout: /^manual-spans /, spans: MANUAL },
  { app: 'manual-spans.mjs', mode: 'import', env: LIMITS, stdout: /^manual-spans /, spans: MANUAL },
  { app: 'manual-spans.cjs', mode: 'require', env: { ...LIMITS, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }, stdout: /^manual-spans /, spans: MANUAL, label: 'OTLP http/json' },
];

let receiver;
/** service -> { svc } | { skip } | { error } */
const services = {};
before(
  async () => {
    receiver = await startSpanReceiver();
    const starters = { pg: startPostgres, redis: startRedis };
    await Promise.all(
      Object.entries(starters).map(async ([name, start]) => {
        try {
          const svc = await start();
          services[name] = svc.skip ? { skip: svc.skip } : { svc };
          if (svc.skip) console.log(`# SKIP ${name} apps: ${svc.skip}`);
        } catch (error) {
          services[name] = { error };
        }
      }),
    );
  },
  { timeout: 60000 },
);
after(async () => Promise.allSettled([receiver?.close(), ...Object.values(services).map((s) => s.svc?.stop())]), { timeout: 30000 });

const ENV_KEY = { pg: 'PG', redis: 'REDIS' };
const nowNs = () => BigInt(Date.now()) * 1000000n;
let n = 0;

/** Runs `spec`'s app under `tracer`; resolves with its output and the canonical form of its spans. */
async function runUnder(spec, tracer, svc) {
  const run = `tracer-conformance-${n++}-${tracer}`;
  const dbEnv = svc ? Object.fromEntries(['host', 'port', 'user', 'password', 'database'].map((k) => [`TEST_${ENV_KEY[spec.service]}_${k.toUpperCase()}`, String(svc[k])])) : {};
  // The same service name for both runs: only test.run (normalized) tells them apart.
  const env = { OTEL_SERVICE_NAME: `tracer-conformance-${spec.app}`, OTEL_RESOURCE_ATTRIBUTES: `test.run=${run}`, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', ...spec.env, ...dbEnv, ...TRACERS[tracer] };
  const from = nowNs() - 1000000000n;
  const res = await runNode(REGISTER[spec.mode], `conformance/${spec.app}`, { env, timeoutMs: 30000 });
  const to = nowNs() + 1000000000n;
  return { tracer, run, res, window: [from, to], output: `${tracer}: exit ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}` };
}

// Two apps at a time, each running its two processes at once: four node processes on two cores.
describe('our tracer exports what the SDK path exports', { concurrency: 2 }, () => {
  for (const spec of APPS) {
    test(`${spec.app} under --${spec.mode}${spec.label ? `, ${spec.label}` : ''}`, { timeout: 60000 }, async (t) => {
      const s = spec.service ? services[spec.service] : {};
      if (s.error) throw s.error;
      if (s.skip) return t.skip(s.skip);
      const runs = await Promise.all(Object.keys(TRACERS).map((tracer) => runUnder(spec, tracer, s.svc)));
      const output = runs.map((r) => r.output).join('\n');
      for (const r of runs) {
        assert.equal(r.res.code, 0, output);
        if (typeof spec.stdout === 'string') assert.equal(r.res.stdout, `${spec.stdout}\n`, output);
        else assert.match(r.res.stdout, spec.stdout, output);
      }
      assert.equal(runs[0].res.stdout, runs[1].res.stdout, `what the app itself sees is the same\n${output}`);

      // Both processes have exited, so both have sent their spans: wait only for them to be decoded.
      const records = () => runs.map((r) => receiver.select('test.run', r.run));
      await waitFor(() => records().every((x) => x.length > 0) && records()[0].length === records()[1].length, 10000);
      const normalize = { ...NORMALIZE, keep: new Set(s.svc ? [BigInt(s.svc.port)] : []) };
      const [a, b] = records().map((x, i) => canonical(x, { window: runs[i].window, normalize }));

      for (const [r, c] of [[runs[0], a], [runs[1], b]]) {
        assert.deepEqual(c.problems, [], `${r.tracer}: times out of order\n${output}`);
        const labels = c.spans.map((x) => x.span);
        for (const want of spec.spans ?? []) assert.ok(labels.includes(want), `${r.tracer}: no span "${want}" among\n  ${labels.join('\n  ')}`);
        if (spec.scope) assert.ok(c.spans.some((x) => x.scope === spec.scope), `${r.tracer}: no ${spec.scope} span among\n  ${labels.join('\n  ')}`);
      }
      const diff = describeDifference(a, b, Object.keys(TRACERS));
      const normalized = Object.entries({ ...NORMALIZE.resource, ...NORMALIZE.span }).map(([k, why]) => `  ${k}: ${Array.isArray(why) ? `${why[1]}: ${why[0]}` : why}`);
      assert.ok(diff === '', `${spec.app}: the exports differ (${a.spans.length} spans under default, ${b.spans.length} under sdk):\n${diff}\n\nnormalized (value shown as <reason>):\n${normalized.join('\n')}\n\n${output}`);
    });
  }
});

// Configurator plugins' span processors must get the same ReadableSpan from either tracer: the
// recording-processor fixture writes what onStart and onEnd see, a JSON line per call, and the
// two files must be equal, line by line (the order of the calls included).
describe("a configurator's span processor sees the same spans", { concurrency: 2 }, () => {
  let dir;
  before(() => {
    const files = Object.fromEntries(['manual-spans.cjs', 'manual-spans.mjs'].map((f) => [f, readFileSync(join(APPS_DIR, 'conformance', f), 'utf8')]));
    dir = pluginApp(realpathSync(mkdtempSync(join(tmpdir(), 'otel-tracer-conformance-'))), { name: 'tracer-conformance-app', plugins: ['recording-processor'], files });
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  for (const [mode, app] of [['require', 'manual-spans.cjs'], ['import', 'manual-spans.mjs']]) {
    test(`${app} under --${mode}`, { timeout: 60000 }, async () => {
      const runs = await Promise.all(
        Object.entries(TRACERS).map(async ([tracer, env]) => {
          const file = join(dir, `${app}-${tracer}.jsonl`);
          const res = await runNode(REGISTER[mode], app, { cwd: dir, env: { RECORDING_PROCESSOR_FILE: file, OTEL_SERVICE_NAME: 'recorded', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', ...LIMITS, ...env } });
          let calls = [];
          try {
            calls = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
          } catch {}
          return { tracer, res, calls, output: `${tracer}: exit ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}` };
        }),
      );
      const output = runs.map((r) => r.output).join('\n');
      for (const r of runs) {
        assert.equal(r.res.code, 0, output);
        assert.ok(r.calls.some((c) => c.onEnd?.name === 'limits') && r.calls.length > 2 * MANUAL.length, `${r.tracer}: the processor saw ${r.calls.length} calls\n${output}`);
      }
      const diff = describeDifference(runs[0].calls, runs[1].calls, Object.keys(TRACERS));
      assert.ok(diff === '', `the processor's view differs (${runs[0].calls.length} calls under default, ${runs[1].calls.length} under sdk):\n${diff}\n\n${output}`);
    });
  }
});

// Our Express layer patch against instrumentation-express's own (OTEL_NODE_EXPRESS_INSTRUMENTATION,
// src/instrumentations/express): the same app, once under each, must export the same spans field by
// field: names, kinds, parents, attributes (http.route, express.name, express.type), the server
// span's route and name, status, exception events. Express 4 and 5, CommonJS and ESM, and
// upstream's ignoreLayers/ignoreLayersType options. What legitimately differs besides NORMALIZE:
// the frames of an exception.stacktrace below the app's own (ours and upstream's wrappers are
// different functions), so a stack is compared by its first two lines, message and throwing frame.
const EXPRESS_MODES = { lean: { OTEL_NODE_EXPRESS_INSTRUMENTATION: 'lean' }, upstream: { OTEL_NODE_EXPRESS_INSTRUMENTATION: 'upstream' } };
// What each says in the startup report (OTEL_LOG_LEVEL=info): who patched the layers.
const EXPRESS_SAID = {
  lean: /info: applied @opentelemetry\/instrumentation-express@[\d.]+ to express@[45]\.[\d.]+; layers: instrumentation-express with our per-request layer patch \(lean\)\n/,
  upstream: /info: applied @opentelemetry\/instrumentation-express@[\d.]+ to express@[45]\.[\d.]+; layers: instrumentation-express \(OTEL_NODE_EXPRESS_INSTRUMENTATION=upstream\)\n/,
};
const EXPRESS_LINE = /^express[45] (\S+=\d+:\d+ ?){12}$/;
const EXPRESS_APPS = [
  { app: 'express-layers/app.cjs', mode: 'require', version: 5 },
  { app: 'express-layers/app.mjs', mode: 'import', version: 5 },
  { app: 'express-layers/express4/app.cjs', mode: 'require', version: 4, nodeArgs: ['--preserve-symlinks'] },
  { app: 'express-layers/express4/app.mjs', mode: 'import', version: 4, nodeArgs: ['--preserve-symlinks'] },
  // Under instrumentation-http's server side, which binds each response's listener methods itself.
  { app: 'express-layers/app.cjs', mode: 'require', version: 5, env: { OTEL_NODE_HTTP_SERVER_INSTRUMENTATION: 'upstream' }, label: 'OTEL_NODE_HTTP_SERVER_INSTRUMENTATION=upstream', full: true },
  { app: 'express-layers/app.cjs', mode: 'require', version: 5, env: { OTEL_NODE_INSTRUMENTATION_EXPRESS_IGNORE_LAYERS: 'passThrough,request handler - /users/:id', OTEL_NODE_INSTRUMENTATION_EXPRESS_IGNORE_LAYERS_TYPE: 'router' }, label: 'ignoreLayers, ignoreLayersType' },
  { app: 'express-layers/hooks.cjs', mode: 'start', version: 5, label: 'start() with spanNameHook and requestHook', hooks: true },
  { app: 'express-layers/express4/app.cjs', mode: 'require', version: 4, nodeArgs: ['--preserve-symlinks'], env: { OTEL_NODE_INSTRUMENTATION_EXPRESS_IGNORE_LAYERS_TYPE: 'middleware' }, label: 'ignoreLayersType' },
];
const firstLines = (stack) => (typeof stack === 'string' ? stack.split('\n').slice(0, 2).join('\n') : stack);

describe("lean Express exports what instrumentation-express exports", { concurrency: 2 }, () => {
  for (const spec of EXPRESS_APPS) {
    test(`Express ${spec.version}: ${spec.app} ${REGISTER[spec.mode] ? `under --${spec.mode}` : 'from code'}${spec.label ? `, ${spec.label}` : ''}`, { timeout: 60000 }, async () => {
      const runs = await Promise.all(
        Object.entries(EXPRESS_MODES).map(async ([mode, env]) => {
          const run = `express-conformance-${n++}-${mode}`;
          const from = nowNs() - 1000000000n;
          const res = await runNode([...(spec.nodeArgs ?? []), ...(REGISTER[spec.mode] ?? [])], spec.app, {
            env: { OTEL_SERVICE_NAME: 'express-conformance', OTEL_RESOURCE_ATTRIBUTES: `test.run=${run}`, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_LOG_LEVEL: 'info', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'net,dns', ...spec.env, ...env },
            timeoutMs: 30000,
          });
          const to = nowNs() + 1000000000n;
          return { mode, run, res, window: [from, to], output: `${mode}: exit ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}` };
        }),
      );
      const output = runs.map((r) => r.output).join('\n');
      for (const r of runs) {
        assert.equal(r.res.code, 0, output);
        assert.match(r.res.stdout.trim(), EXPRESS_LINE, output);
        assert.ok(r.res.stdout.startsWith(`express${spec.version} `), output);
        assert.match(r.res.stderr, EXPRESS_SAID[r.mode], output);
      }
      assert.equal(runs[0].res.stdout, runs[1].res.stdout, `what the app itself sees is the same\n${output}`);
      const records = () => runs.map((r) => receiver.select('test.run', r.run));
      // 12 requests, whose client spans each end after everything of their request: once the
      // last one is in (exports go out in the order spans end), so is the rest of the run.
      const clients = (x) => x.filter((r) => r.span.kind === 3 || r.span.kind === 'SPAN_KIND_CLIENT').length;
      await waitFor(() => records().every((x) => clients(x) === 12) && records()[0].length === records()[1].length, 10000);
      const [a, b] = records().map((x, i) => canonical(x, { window: runs[i].window, normalize: NORMALIZE }));
      for (const c of [a, b]) for (const s of c.spans) for (const e of s.events) if ('exception.stacktrace' in e.attributes) e.attributes['exception.stacktrace'] = firstLines(e.attributes['exception.stacktrace']);
      for (const [r, c] of [[runs[0], a], [runs[1], b]]) {
        assert.deepEqual(c.problems, [], `${r.mode}: times out of order\n${output}`);
        const expressSpans = c.spans.filter((x) => x.scope === '@opentelemetry/instrumentation-express');
        assert.ok(expressSpans.length >= (spec.env && !spec.full ? 5 : 20), `${r.mode}: ${expressSpans.length} express spans:\n  ${c.spans.map((x) => x.span).join('\n  ')}`);
      }
      if ((!spec.env || spec.full) && !spec.hooks) {
        const labels = a.spans.map((x) => x.span);
        for (const want of ['GET#3 > GET /api/v1/items/:id/parts/:part > request handler', 'GET#8 > GET /boom > request handler', 'GET#2 > GET /api/v1/items/:id > router - ', 'GET#2 > GET /api/v1/items/:id > middleware - apiAuth', 'GET#11 > GET /late > request handler']) assert.ok(labels.some((l) => l.startsWith(want)), `no span "${want}" among\n  ${labels.join('\n  ')}`);
        assert.ok(a.spans.some((x) => x.status.code === 'STATUS_CODE_ERROR' && x.events.some((e) => e.name === 'exception')), 'an erroring layer span');
      }
      if (spec.hooks) {
        const labels = a.spans.map((x) => x.span);
        assert.ok(labels.includes('GET > GET /users/:id > GET handler /users/:id (request handler)'), `spanNameHook's name among\n  ${labels.join('\n  ')}`);
        assert.ok(labels.includes('GET#9 > GET /fail > request handler'), `the default name where spanNameHook throws, among\n  ${labels.join('\n  ')}`);
        assert.ok(a.spans.filter((x) => x.scope === '@opentelemetry/instrumentation-express').every((x) => typeof x.attributes['test.layer'] === 'string'), "requestHook's attribute on every express span");
      }
      const diff = describeDifference(a, b, Object.keys(EXPRESS_MODES));
      assert.ok(diff === '', `${spec.app}: the exports differ (${a.spans.length} spans under lean, ${b.spans.length} under upstream):\n${diff}\n\n${output}`);
    });
  }
});
