// The three ways in (examples/three-ways) and the programmatic API, against a real OTLP receiver:
// zero-code, programmatic and manual produce the same span tree for the same request, the manual
// spans are children of the automatic server span; start() twice is one SDK; options win over
// the environment; a bad option is one warning; an @opentelemetry/api copy we cannot share with
// is one warning.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { APPS, REGISTER, ROOT, runNode } from '../helpers/run.mjs';
import { startPostgres } from '../helpers/services.mjs';

const EXAMPLES = join(ROOT, 'examples', 'three-ways');
const API = join(APPS, 'api');

let receiver;
let pg;
before(async () => {
  receiver = await startReceiver();
  pg = await startPostgres();
  if (pg.skip) console.log(`# the examples run without a database: ${pg.skip}`);
});
after(async () => {
  await receiver.close();
  if (!pg.skip) await pg.stop();
});

const hex = (n) => randomBytes(n).toString('hex');

/** GET url with a traceparent of ours, so the trace is known and its root span's parent is ours. */
function request(url, traceId, parentId) {
  return new Promise((resolve, reject) => {
    get(url, { headers: { traceparent: `00-${traceId}-${parentId}-01` } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

const WAYS = {
  'zero-code': { dir: 'zero-code', args: ['--env-file=otel.env', ...REGISTER.import], env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_METRICS_EXPORTER: 'otlp', OTEL_LOGS_EXPORTER: 'otlp' } },
  programmatic: { dir: 'programmatic', args: [], env: {} },
  manual: { dir: 'manual', args: [], env: {} },
};

/** Runs one example with --once, sends it one request, and returns the spans of that trace. */
async function runWay(way) {
  const w = WAYS[way];
  const traceId = hex(16);
  const parentId = hex(8);
  let answer;
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, PORT: '0', ...w.env };
  if (!pg.skip) env.DATABASE_URL = `postgres://${pg.user}:${pg.password}@${pg.host}:${pg.port}/${pg.database}`;
  const res = await runNode(w.args, join(EXAMPLES, w.dir, 'service.js'), {
    cwd: join(EXAMPLES, w.dir),
    args: ['--once'],
    env,
    onStdout: (out) => {
      const m = /shop: (http:\/\/\S+)/.exec(out);
      if (m && !answer) answer = request(m[1], traceId, parentId);
    },
  });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stderr, '', `${way} writes nothing to stderr`);
  assert.ok(answer, `${way} printed its address: ${res.stdout}`);
  const { status, body } = await answer;
  assert.equal(status, 200, body);
  assert.equal(JSON.parse(body).total, 3);
  // The shop flushed before it exited; the prices service flushes when the shop disconnects.
  const mine = () => receiver.spans().filter((s) => s.traceId === traceId);
  const services = () => new Set(mine().filter((s) => s.kind === 'SPAN_KIND_SERVER').map((s) => s.resource['service.name']));
  await waitFor(() => services().has('prices') && services().has('shop'), 10000);
  return { spans: mine(), parentId };
}

/** The tree as text: "KIND name" per span, children sorted, indented under their parent. */
function shape(spans, parentId, depth = 0) {
  return spans
    .filter((s) => s.parentSpanId === parentId)
    .map((s) => `${'  '.repeat(depth)}${s.kind.replace('SPAN_KIND_', '')} ${s.name} [${s.resource['service.name']}]\n${shape(spans, s.spanId, depth + 1)}`)
    .sort()
    .join('');
}

test('examples/three-ways: zero-code, programmatic and manual give the same span tree; manual spans sit under the server span', async () => {
  const zero = await runWay('zero-code');
  const prog = await runWay('programmatic');
  const manual = await runWay('manual');
  const tree = shape(zero.spans, zero.parentId);
  // Observed with the instrumentations of auto-instrumentations-node 0.82 (http, net, pg).
  const db = pg.skip ? [] : ['  CLIENT pg.connect [shop]', '    INTERNAL tcp.connect [shop]', '  CLIENT pg.query:SELECT otel_e2e [shop]'];
  const expected = ['SERVER GET [shop]', '  CLIENT GET [shop]', '    INTERNAL tcp.connect [shop]', '    SERVER GET [prices]', ...db, ''].join('\n');
  assert.equal(tree, expected, 'zero-code');
  assert.equal(shape(prog.spans, prog.parentId), tree, 'programmatic');

  const ours = manual.spans.filter((s) => s.scope === 'shop');
  assert.deepEqual(
    ours.map((s) => s.name),
    ['price order'],
  );
  const server = manual.spans.find((s) => s.parentSpanId === manual.parentId);
  assert.equal(ours[0].parentSpanId, server.spanId, 'the manual span is a child of the automatic server span');
  assert.equal(ours[0].attributes['shop.order.total'], 3);
  assert.equal(server.attributes['shop.order.id'], 1, 'the app set an attribute on the automatic span');
  assert.equal(
    shape(
      manual.spans.filter((s) => s.scope !== 'shop'),
      manual.parentId,
    ),
    tree,
    'manual, without its own spans',
  );
  // The manual metric and log record reached the same receiver through the same SDK.
  await waitFor(() => receiver.metricNames().has('shop.orders.priced'));
  assert.ok(receiver.metricNames().has('shop.orders.priced'));
  const bodies = receiver.logs.flatMap((l) => (l.resourceLogs ?? []).flatMap((r) => (r.scopeLogs ?? []).flatMap((s) => (s.logRecords ?? []).map((x) => x.body))));
  assert.ok(bodies.includes('order 1 priced'), JSON.stringify(bodies));
});

/** Runs twice.cjs and returns its result and the spans of its service. */
async function runTwice({ nodeArgs = [], options = {}, env = {} } = {}) {
  const service = `api-${hex(4)}`;
  const res = await runNode(nodeArgs, join(API, 'twice.cjs'), {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_SERVICE_NAME: service, START_OPTIONS: JSON.stringify(options), ...env },
  });
  const spans = () => receiver.spans().filter((s) => s.resource['service.name'] === (options.serviceName ?? service));
  await waitFor(() => spans().length >= 2);
  return { res, spans: spans(), service };
}

const warnings = (stderr) => stderr.split('\n').filter((l) => l.startsWith('otel-autoinstrument: warning:'));

test('start() twice: one SDK, one warning, the first handle; each span exported once', async () => {
  const { res, spans } = await runTwice();
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout, 'same=true started=true entry=api\n');
  assert.deepEqual(warnings(res.stderr), ["otel-autoinstrument: warning: start() was already called, by an earlier start(): this call's options are ignored and the first handle is returned"]);
  assert.equal(res.stderr, `${warnings(res.stderr)[0]}\n`);
  assert.equal(spans.filter((s) => s.kind === 'SPAN_KIND_SERVER').length, 1);
  assert.equal(spans.filter((s) => s.kind === 'SPAN_KIND_CLIENT').length, 1);
});

test('start() after the --require register hook: the hook\'s SDK, one warning naming it', async () => {
  const { res, spans } = await runTwice({ nodeArgs: REGISTER.require });
  assert.equal(res.stdout, 'same=true started=true entry=require\n');
  assert.equal(warnings(res.stderr).length, 1, res.stderr);
  assert.match(res.stderr, /start\(\) was already called, by the --require register hook/);
  assert.equal(spans.filter((s) => s.kind === 'SPAN_KIND_SERVER').length, 1);
});

test('--require and --import together stay silent', async () => {
  const res = await runNode([...REGISTER.require, ...REGISTER.import], 'http-app.cjs', { env: { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' } });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stderr, '');
});

test('options win over the environment; variables the options leave unset still come from it', async () => {
  const { res, spans } = await runTwice({
    options: { serviceName: 'from-option', tracesExporter: ['otlp'] },
    env: { OTEL_TRACES_EXPORTER: 'none', OTEL_RESOURCE_ATTRIBUTES: 'team=core' },
  });
  assert.equal(res.code, 0, res.stderr);
  const server = spans.find((s) => s.kind === 'SPAN_KIND_SERVER');
  assert.ok(server, 'tracesExporter: ["otlp"] won over OTEL_TRACES_EXPORTER=none');
  assert.equal(server.resource['service.name'], 'from-option');
  assert.equal(server.resource.team, 'core');
});

test('a bad option value is one warning naming the option, the variable and what was used; an unknown key one more', async () => {
  const { res, spans } = await runTwice({ options: { bspScheduleDelay: 'soon', tracesExporter: ['otlp', 'jaeger'], serviceNam: 'typo' } });
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(warnings(res.stderr).slice(0, 3), [
    'otel-autoinstrument: warning: start() option serviceNam is not an option (did you mean serviceName?); ignored',
    'otel-autoinstrument: warning: start() option tracesExporter (OTEL_TRACES_EXPORTER)="otlp,jaeger" has "jaeger", not one of otlp, console, none, zipkin; ignored; using "otlp"',
    'otel-autoinstrument: warning: start() option bspScheduleDelay (OTEL_BSP_SCHEDULE_DELAY)="soon" is not a number; using the default "5000"',
  ]);
  // The fourth is the second start()'s.
  assert.equal(warnings(res.stderr).length, 4, res.stderr);
  assert.ok(spans.length >= 2, 'still exported over OTLP');
});

test('ESM: node --import ./instrumentation.mjs app.mjs, start() in the imported file', async () => {
  const service = `esm-${hex(4)}`;
  const res = await runNode(['--import', './api/instrumentation.mjs'], 'express-app.mjs', {
    env: { SERVICE: service, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
  });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stderr, '');
  const mine = () => receiver.spans().filter((s) => s.resource['service.name'] === service);
  await waitFor(() => mine().some((s) => s.scope === '@opentelemetry/instrumentation-express'));
  assert.ok(
    mine().some((s) => s.scope === '@opentelemetry/instrumentation-express'),
    JSON.stringify(mine().map((s) => s.name)),
  );
});

/** A temp app dir with its own copy of @opentelemetry/api, claiming `version`. */
function appWithApiCopy(version) {
  const dir = mkdtempSync(join(tmpdir(), 'otel-api-copy-'));
  const api = join(dir, 'node_modules', '@opentelemetry', 'api');
  mkdirSync(join(dir, 'node_modules', '@opentelemetry'), { recursive: true });
  cpSync(join(ROOT, 'node_modules', '@opentelemetry', 'api'), api, { recursive: true, dereference: true });
  const pj = JSON.parse(readFileSync(join(api, 'package.json'), 'utf8'));
  for (const f of ['dist/version.cjs', 'dist/version.mjs']) writeFileSync(join(api, f), readFileSync(join(api, f), 'utf8').replace(`"${pj.version}"`, `"${version}"`));
  writeFileSync(join(api, 'package.json'), JSON.stringify({ ...pj, version }));
  symlinkSync(ROOT, join(dir, 'node_modules', 'otel-autoinstrument'), 'dir');
  cpSync(join(API, 'manual-span.cjs'), join(dir, 'app.cjs'));
  return dir;
}

async function runCopy(version) {
  const dir = appWithApiCopy(version);
  const service = `copy-${hex(4)}`;
  try {
    const res = await runNode([], join(dir, 'app.cjs'), { cwd: dir, env: { SERVICE: service, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' } });
    return { res, spans: () => receiver.spans().filter((s) => s.resource['service.name'] === service), dir };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the app's own @opentelemetry/api copy: a sharable one works silently, a newer minor is one warning", async () => {
  const ours = JSON.parse(readFileSync(join(ROOT, 'node_modules', '@opentelemetry', 'api', 'package.json'), 'utf8')).version;
  const [major, minor] = ours.split('.').map(Number);

  const same = await runCopy(`${major}.${minor}.0`);
  assert.equal(same.res.code, 0, same.res.stderr);
  assert.equal(same.res.stderr, '');
  await waitFor(() => same.spans().length > 0);
  assert.deepEqual(
    same.spans().map((s) => s.name),
    ['manual work'],
    'a second copy at another path shares the globals',
  );

  const newer = await runCopy(`${major}.${minor + 1}.0`);
  assert.equal(newer.res.code, 0, newer.res.stderr);
  assert.equal(warnings(newer.res.stderr).length, 1, newer.res.stderr);
  assert.match(newer.res.stderr, new RegExp(`the app's @opentelemetry/api ${major}\\.${minor + 1}\\.0 \\(.*\\) cannot use the SDK registered through ours \\(${ours}, `));
  // The warning is true: that copy's span went nowhere.
  assert.deepEqual(newer.spans(), []);
});
