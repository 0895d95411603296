// End to end against real servers: PostgreSQL (pg), Redis (ioredis) and MariaDB (mysql2), each
// a private instance on 127.0.0.1 (test/helpers/services.mjs). A fixture app is run with only
// the register hook (--require or --import); its request handler talks to the database; the
// spans that reach a real OTLP receiver must show the client span under the http server span.
//
// Missing server binaries skip that database's tests (with the reason printed), except with
// CI=true, where they fail. `bash .ci/services.sh` installs them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startReceiver } from '../helpers/otlp.mjs';
import { REGISTER, runNode } from '../helpers/run.mjs';
import { startMariadb, startPostgres, startRedis } from '../helpers/services.mjs';

const SPANS_TIMEOUT_MS = 5000;
const APP_TIMEOUT_MS = 20000;

/**
 * What each fixture app must produce. `expected(svc)` lists the database client spans the
 * instrumentation emits (observed with @opentelemetry/instrumentation-pg 0.77.0,
 * -ioredis 0.72.0, -mysql2 0.70.0: stable database semantic conventions, `db.system.name`).
 */
const DBS = {
  pg: {
    start: startPostgres,
    env: 'TEST_PG',
    path: '/pg',
    stdout: 'pg status=200 body=two=2',
    expected: (svc) => [
      {
        scope: '@opentelemetry/instrumentation-pg',
        name: `pg.query:SELECT ${svc.database}`,
        attributes: {
          'db.system.name': 'postgresql',
          'db.namespace': svc.database,
          'db.query.text': 'SELECT 1 + 1 AS two',
          'server.address': '127.0.0.1',
          'server.port': svc.port,
        },
      },
      {
        scope: '@opentelemetry/instrumentation-pg',
        name: 'pg.connect',
        attributes: { 'db.system.name': 'postgresql', 'db.namespace': svc.database, 'server.address': '127.0.0.1', 'server.port': svc.port },
      },
    ],
  },
  redis: {
    start: startRedis,
    env: 'TEST_REDIS',
    path: '/redis',
    stdout: 'redis status=200 body=value=otel-e2e-value',
    expected: (svc) => [
      {
        scope: '@opentelemetry/instrumentation-ioredis',
        name: 'set',
        attributes: {
          'db.system.name': 'redis',
          'db.operation.name': 'set',
          'db.query.text': 'set otel-e2e-key [1 other arguments]',
          'server.address': '127.0.0.1',
          'server.port': svc.port,
        },
      },
      {
        scope: '@opentelemetry/instrumentation-ioredis',
        name: 'get',
        attributes: {
          'db.system.name': 'redis',
          'db.operation.name': 'get',
          'db.query.text': 'get otel-e2e-key',
          'server.address': '127.0.0.1',
          'server.port': svc.port,
        },
      },
    ],
  },
  mysql: {
    start: startMariadb,
    env: 'TEST_MYSQL',
    path: '/mysql',
    stdout: 'mysql status=200 body=two=2',
    expected: (svc) => [
      {
        scope: '@opentelemetry/instrumentation-mysql2',
        name: 'SELECT',
        attributes: {
          // mysql2 cannot tell MariaDB from MySQL: the instrumentation always says "mysql".
          'db.system.name': 'mysql',
          'db.namespace': svc.database,
          'db.query.text': 'SELECT 1 + 1 AS two',
          'server.address': '127.0.0.1',
          'server.port': svc.port,
        },
      },
    ],
  },
};

const CASES = [
  ['pg', 'require', 'pg-app.cjs'],
  ['pg', 'import', 'pg-app.cjs'],
  ['pg', 'import', 'pg-app.mjs'],
  ['redis', 'require', 'redis-app.cjs'],
  ['redis', 'import', 'redis-app.cjs'],
  ['redis', 'import', 'redis-app.mjs'],
  ['mysql', 'require', 'mysql-app.cjs'],
  ['mysql', 'import', 'mysql-app.cjs'],
  ['mysql', 'import', 'mysql-app.mjs'],
];

let receiver;
/** db key -> { svc } | { skip } | { error } */
const services = {};

before(
  async () => {
    const [recv, ...started] = await Promise.allSettled([startReceiver(), ...Object.values(DBS).map((d) => d.start())]);
    if (recv.status === 'rejected') throw recv.reason;
    receiver = recv.value;
    Object.keys(DBS).forEach((key, i) => {
      const r = started[i];
      if (r.status === 'rejected') {
        services[key] = { error: r.reason };
      } else if (r.value.skip) {
        services[key] = { skip: r.value.skip };
        console.log(`# SKIP ${key} tests: ${r.value.skip}`);
      } else {
        services[key] = { svc: r.value };
      }
    });
  },
  { timeout: 60000 },
);

after(
  async () => {
    await Promise.allSettled([receiver?.close(), ...Object.values(services).map((s) => s.svc?.stop())]);
  },
  { timeout: 30000 },
);

const brief = (s) => `${s.scope} "${s.name}" ${s.kind} trace=${s.traceId} span=${s.spanId} parent=${s.parentSpanId ?? '-'}`;

/** Polls the receiver until `ready(spans)` holds or SPANS_TIMEOUT_MS passes; returns the spans. */
async function waitForSpans(ready) {
  const deadline = Date.now() + SPANS_TIMEOUT_MS;
  for (;;) {
    const spans = receiver.spans();
    if (ready(spans) || Date.now() >= deadline) return spans;
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const [db, mode, app] of CASES) {
  const spec = DBS[db];
  test(`${db}: ${app} under --${mode} sends a client span under the http server span`, { timeout: 40000 }, async (t) => {
    const s = services[db];
    if (s.error) throw s.error;
    if (s.skip) {
      t.skip(s.skip);
      return;
    }
    const svc = s.svc;
    const serviceName = `db-e2e-${db}-${mode}-${app.replace(/\W/g, '-')}`;
    receiver.clear();

    const res = await runNode(REGISTER[mode], app, {
      timeoutMs: APP_TIMEOUT_MS,
      env: {
        OTEL_SERVICE_NAME: serviceName,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl,
        [`${spec.env}_HOST`]: svc.host,
        [`${spec.env}_PORT`]: String(svc.port),
        [`${spec.env}_USER`]: svc.user,
        [`${spec.env}_PASSWORD`]: svc.password,
        [`${spec.env}_DATABASE`]: svc.database,
      },
    });
    const output = `stdout:\n${res.stdout}\nstderr:\n${res.stderr}`;
    assert.equal(res.signal, null, `app killed by ${res.signal}\n${output}`);
    assert.equal(res.code, 0, `app exit code\n${output}`);
    assert.equal(res.stdout, `${spec.stdout}\n`, `app stdout\n${output}`);

    const expected = spec.expected(svc);
    const isServer = (x) => x.kind === 'SPAN_KIND_SERVER' && x.scope === '@opentelemetry/instrumentation-http' && x.attributes['url.path'] === spec.path;
    const spans = await waitForSpans((all) => all.some(isServer) && expected.every((e) => all.some((x) => x.scope === e.scope && x.name === e.name)));
    const got = `received spans:\n${spans.map(brief).join('\n') || '(none)'}\n${output}`;

    // Every span of this run carries the service name the app was started with.
    assert.ok(spans.length > 0, got);
    for (const x of spans) assert.equal(x.resource['service.name'], serviceName, `service.name of ${brief(x)}\n${got}`);

    const servers = spans.filter(isServer);
    assert.equal(servers.length, 1, `exactly one http SERVER span for ${spec.path}\n${got}`);
    const server = servers[0];
    const byId = new Map(spans.map((x) => [x.spanId, x]));

    for (const e of expected) {
      const matches = spans.filter((x) => x.scope === e.scope && x.name === e.name);
      assert.equal(matches.length, 1, `exactly one ${e.scope} span named "${e.name}"\n${got}`);
      const span = matches[0];
      assert.equal(span.kind, 'SPAN_KIND_CLIENT', `kind of ${brief(span)}\n${got}`);
      for (const [k, v] of Object.entries(e.attributes)) assert.equal(span.attributes[k], v, `attribute ${k} of ${brief(span)}: ${JSON.stringify(span.attributes)}`);

      // Same trace, and the parent chain leads to the http server span.
      assert.equal(span.traceId, server.traceId, `trace of ${brief(span)} vs server ${brief(server)}\n${got}`);
      const chain = [];
      let cur = span;
      while (cur.parentSpanId && chain.length < 20) {
        cur = byId.get(cur.parentSpanId);
        if (cur === undefined) break;
        chain.push(cur);
        if (cur === server) break;
      }
      assert.ok(chain.includes(server), `parent chain of ${brief(span)} (${chain.map(brief).join(' <- ') || 'empty'}) misses server ${brief(server)}\n${got}`);
    }
  });
}
