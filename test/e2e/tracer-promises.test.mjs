// The promises to users that the tracer must keep (issue 19), under the default tracer and under
// the SDK path (OTEL_NODE_TRACER=sdk): a configurator plugin's span processor or sampler that
// throws never reaches the app (exit code 0, its output intact, one warning); with the backend
// down, a flood of spans leaves the heap (and Buffer memory, where encoded spans wait) bounded by
// the queue, not by the number of spans.
// (plugins.test.mjs checks the throwing processor among every bad plugin under the default
// tracer; reliability.test.mjs checks RSS under export faults at 100 requests/s.)
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { freePort } from '../helpers/services.mjs';
import { pluginApp, REGISTER, runNode } from '../helpers/run.mjs';

const TRACERS = { default: {}, sdk: { OTEL_NODE_TRACER: 'sdk' } };
const PLUGINS = ['throwing-processor', 'throwing-sampler'];
const REQUESTS = 20;

// An http server that calls itself REQUESTS times, one after another: every call starts and
// ends a client and a server span, each through the plugin's processor and sampler.
const APP = `'use strict';
const http = require('node:http');
const server = http.createServer((req, res) => res.end('echo ' + req.url));
const get = (port, path) => new Promise((resolve, reject) => {
  http.get({ host: '127.0.0.1', port, path }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => (body += d));
    res.on('end', () => resolve(body));
  }).on('error', reject);
});
server.listen(0, '127.0.0.1', async () => {
  let good = 0;
  for (let i = 0; i < ${REQUESTS}; i++) if ((await get(server.address().port, '/r/' + i)) === 'echo /r/' + i) good++;
  console.log('answered ' + good);
  server.close();
});
`;

let dir;
let refused;
let receiver;
before(async () => {
  receiver = await startReceiver();
  // The app's own directory: its package.json depends on the two plugins, copied into its
  // node_modules as a registry install would place them.
  dir = pluginApp(realpathSync(mkdtempSync(join(tmpdir(), 'otel-tracer-promises-'))), {
    name: 'tracer-promises-app',
    plugins: PLUGINS,
    opentelemetry: false,
    files: { 'app.cjs': APP, 'app.mjs': `import './app.cjs';\n` },
  });
  // A port nothing listens on: the backend is down, connections are refused.
  refused = `http://127.0.0.1:${await freePort()}`;
});
after(async () => {
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const lines = (stderr) => stderr.split('\n').filter((l) => l.trim() !== '');
const DELIVERY = /^otel-autoinstrument: warning: telemetry not confirmed at exit: traces: \d+ spans sent with no answer before exit/;

let n = 0;
describe('a throwing plugin never reaches the app', { concurrency: 2 }, () => {
  for (const tracer of Object.keys(TRACERS))
    for (const [mode, script] of [['require', 'app.cjs'], ['import', 'app.mjs']])
      for (const plugin of PLUGINS) {
        test(`${plugin}, ${tracer} tracer, --${mode}: exit 0, output intact, one warning naming it`, async () => {
          const service = `tracer-promises-${n++}`;
          const res = await runNode(REGISTER[mode], script, {
            cwd: dir,
            env: { OTEL_SERVICE_NAME: service, OTEL_NODE_DISABLED_PLUGINS: PLUGINS.filter((p) => p !== plugin).join(','), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', ...TRACERS[tracer] },
          });
          const output = `exit ${res.code} ${res.signal ?? ''}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`;
          assert.equal(res.code, 0, output);
          assert.equal(res.stdout, `answered ${REQUESTS}\n`, output);
          // On a busy machine the receiver (this process) may answer after the app's exit deadline:
          // that documented delivery line is about the backend, not the plugin.
          const warnings = lines(res.stderr).filter((l) => !DELIVERY.test(l));
          assert.equal(warnings.length, 1, output);
          assert.match(warnings[0], new RegExp(`^otel-autoinstrument: warning: .*${plugin}@1\\.0\\.0`), output);
          if (plugin === 'throwing-processor') {
            // The export goes on without the broken processor: a client and a server span per request.
            const spans = () => receiver.spans().filter((s) => s.resource['service.name'] === service);
            assert.ok(await waitFor(() => spans().length >= 2 * REQUESTS, 10000), `${spans().length} spans of ${2 * REQUESTS}\n${output}`);
          }
        });
      }
});

// Retaining every span of the flood would grow the heap by SPANS × (what one held span costs,
// which the app measures first); the queue holds at most QUEUE of them. The bound is an eighth
// of full retention: for the SDK's ~2 KB spans, ~50 MB against ~400 MB retained and ~4 MB queued.
const SPANS = 200000;
const QUEUE = 2048;
describe('the backend down, a flood of spans stays bounded by the queue', { concurrency: 2 }, () => {
  for (const tracer of Object.keys(TRACERS)) {
    test(`${SPANS} spans, OTEL_BSP_MAX_QUEUE_SIZE=${QUEUE}, ${tracer} tracer: heap growth far below what keeping them would cost`, { timeout: 120000 }, async () => {
      const res = await runNode(['--expose-gc', ...REGISTER.require], 'span-flood.cjs', {
        env: { SPANS: String(SPANS), OTEL_BSP_MAX_QUEUE_SIZE: String(QUEUE), OTEL_EXPORTER_OTLP_ENDPOINT: refused, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', ...TRACERS[tracer] },
        timeoutMs: 110000,
      });
      const output = `exit ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`;
      assert.equal(res.code, 0, output);
      const num = (k) => Number(new RegExp(`^${k}=(-?\\d+)`, 'm').exec(res.stdout)?.[1]);
      const [perSpan, grew] = [num('perSpanBytes'), num('grewBytes')];
      assert.ok(perSpan > 0 && Number.isFinite(grew), output);
      const retained = perSpan * SPANS;
      const bound = retained / 8;
      // The bound means something only if it is well above what the queue itself may hold.
      assert.ok(bound > 4 * QUEUE * perSpan, `bound ${bound} vs queue ${QUEUE * perSpan}`);
      const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
      assert.ok(grew < bound, `the heap grew ${mb(grew)} over ${SPANS} spans; keeping them all would be ${mb(retained)} (${perSpan} B each); bound ${mb(bound)}\n${output}`);
      console.log(`# ${tracer}: heap grew ${mb(grew)} over ${SPANS} spans; keeping them would be ${mb(retained)}; bound ${mb(bound)}`);
    });
  }
});
