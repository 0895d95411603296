// The conformance suite: one fixture app per supported library (test/helpers/conformance-libraries.mjs),
// each run with only the register hook: the CJS app under --require, the ESM app under --import
// (CJS apps under --import are covered by the database and trace tests; here they would double the
// file's time);
// the spans and log records that reach a real OTLP receiver must have the names, kinds, parent
// links and semantic-convention attributes the row lists. Databases are real servers on
// 127.0.0.1 (test/helpers/services.mjs): missing binaries skip their rows, except under CI=true.
// docs/support.md is generated from the same table (scripts/gen-support-table.mjs).
// Each CJS app also runs under upstream's register (@opentelemetry/auto-instrumentations-node):
// the span names and kinds must be the same, or the row's `upstream` field says how they differ
// and which side the semantic conventions support.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LIBRARIES } from '../helpers/conformance-libraries.mjs';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { REGISTER, runNode } from '../helpers/run.mjs';
import { startMariadb, startPostgres, startRedis } from '../helpers/services.mjs';

const STARTERS = { pg: startPostgres, mysql: startMariadb, redis: startRedis };
const ENV_KEY = { pg: 'PG', mysql: 'MYSQL', redis: 'REDIS' };

let receiver;
/** service -> { svc } | { skip } | { error } */
const services = {};

before(
  async () => {
    receiver = await startReceiver();
    const needed = [...new Set(LIBRARIES.map((l) => l.service).filter(Boolean))];
    const started = await Promise.allSettled(needed.map((s) => STARTERS[s]()));
    needed.forEach((s, i) => {
      const r = started[i];
      if (r.status === 'rejected') services[s] = { error: r.reason };
      else if (r.value.skip) {
        services[s] = { skip: r.value.skip };
        console.log(`# SKIP ${s} rows: ${r.value.skip}`);
      } else services[s] = { svc: r.value };
    });
  },
  { timeout: 60000 },
);
after(async () => Promise.allSettled([receiver?.close(), ...Object.values(services).map((s) => s.svc?.stop())]), { timeout: 30000 });

const brief = (s) => `${s.scope} "${s.name}" ${s.kind} span=${s.spanId} parent=${s.parentSpanId ?? '-'}`;
const logRecords = (svc) => {
  const out = [];
  for (const l of receiver.logs)
    for (const rl of l.resourceLogs ?? [])
      if (rl.resource?.attributes?.['service.name'] === svc) for (const sl of rl.scopeLogs ?? []) for (const r of sl.logRecords ?? []) out.push({ ...r, scope: sl.scope?.name });
  return out;
};

let n = 0;
/** Runs one fixture app with `register` (node flags) against the receiver; asserts its exit and line. */
async function runApp(lib, svc, register, app) {
  const serviceName = `conformance-${lib.id}-${n++}`;
  const dbEnv = svc ? Object.fromEntries(['host', 'port', 'user', 'password', 'database'].map((k) => [`TEST_${ENV_KEY[lib.service]}_${k.toUpperCase()}`, String(svc[k])])) : {};
  const res = await runNode([...(lib.nodeArgs ?? []), ...register], `conformance/${app}`, {
    timeoutMs: 20000,
    // The resource detectors listed are upstream's local ones: its default would query cloud metadata addresses.
    env: { OTEL_SERVICE_NAME: serviceName, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_METRICS_EXPORTER: 'none', OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process', ...dbEnv },
  });
  const output = `stdout:\n${res.stdout}\nstderr:\n${res.stderr}`;
  assert.equal(res.code, 0, output);
  assert.equal(res.stdout, `${lib.stdout}\n`, output);
  return { serviceName, res, output };
}
const runs = LIBRARIES.filter((l) => !l.suite).flatMap((l) => [[l, 'require', l.cjs], ...(l.esm ? [[l, 'import', l.esm]] : [])]);
/** Library id -> the service name of its passing --require run, for the comparison with upstream. */
const oursUnderRequire = new Map();

// Three apps at a time: each waits mostly on its own child process and servers.
describe('conformance', { concurrency: 3 }, () => {
  for (const [lib, mode, app] of runs) {
    test(`${lib.library}: ${app} under --${mode}`, { timeout: 40000 }, async (t) => {
      const s = lib.service ? services[lib.service] : { svc: undefined };
      if (s.error) throw s.error;
      if (s.skip) return t.skip(s.skip);
      const svc = s.svc;
      const { serviceName, res, output } = await runApp(lib, svc, REGISTER[mode], app);

      const mine = () => receiver.spans().filter((x) => x.resource['service.name'] === serviceName);
      const isServer = (x) => x.kind === 'SPAN_KIND_SERVER' && x.scope === '@opentelemetry/instrumentation-http' && x.attributes['url.path'] === lib.path;
      const found = (all, e) => all.filter((x) => x.scope === e.scope && x.name === e.name && (!e.where || e.where(x)));
      const spans = await waitFor(() => {
        const all = mine();
        return all.some(isServer) && lib.spans.every((e) => found(all, e).length > 0) && (!lib.log?.records || logRecords(serviceName).length > 0) && all;
      }, 10000);
      const got = `received:\n${mine().map(brief).join('\n') || '(none)'}\n${output}`;
      assert.ok(spans, got);

      const servers = spans.filter(isServer);
      assert.equal(servers.length, 1, `one http SERVER span for ${lib.path}\n${got}`);
      const [srv] = servers;
      assert.equal(srv.name, lib.server.name, got);
      assert.equal(srv.attributes['http.route'], lib.server.route ?? undefined, `http.route\n${got}`);
      assert.equal(srv.attributes['http.request.method'], 'GET', got);
      assert.equal(srv.attributes['http.response.status_code'], 200, got);
      assert.equal(srv.attributes['server.address'], '127.0.0.1', got);

      const byId = new Map(spans.map((x) => [x.spanId, x]));
      const ids = { server: srv };
      for (const e of lib.spans) {
        const matches = found(spans, e);
        assert.equal(matches.length, 1, `exactly one ${e.scope} "${e.name}"\n${got}`);
        const [span] = matches;
        if (e.id) ids[e.id] = span;
        assert.equal(span.kind, `SPAN_KIND_${e.kind}`, `${e.name} kind\n${got}`);
        assert.equal(span.traceId, srv.traceId, `${e.name} in the server span's trace\n${got}`);
        if (e.parent === 'descendant') {
          let p = byId.get(span.parentSpanId);
          while (p && p !== srv) p = byId.get(p.parentSpanId);
          assert.equal(p, srv, `${e.name} below the server span\n${got}`);
        } else {
          assert.equal(span.parentSpanId, ids[e.parent].spanId, `${e.name} is a child of ${e.parent}\n${got}`);
        }
        for (const [k, v] of Object.entries(e.attributes(svc))) assert.deepEqual(span.attributes[k], v, `${e.name} ${k}\n${got}`);
      }

      if (lib.log) {
        // Correlation in the log line itself (the loggers write JSON lines to stderr)...
        const line = res.stderr.split('\n').find((l) => l.includes(lib.log.message));
        assert.ok(line, `the log line\n${got}`);
        const fields = JSON.parse(line);
        assert.deepEqual([fields.trace_id, fields.span_id], [srv.traceId, srv.spanId], `log line carries the server span's ids\n${got}`);
        // ...and in the log record sent over OTLP.
        const records = logRecords(serviceName).filter((r) => r.body === lib.log.message);
        if (lib.log.records) {
          assert.equal(records.length, 1, `one log record\n${got}`);
          assert.deepEqual([records[0].traceId, records[0].spanId], [srv.traceId, srv.spanId], `log record correlated\n${got}`);
          assert.equal(records[0].severityText, 'info');
        } else {
          assert.equal(records.length, 0, got);
        }
      }
      if (mode === 'require') oursUnderRequire.set(lib.id, serviceName);
    });
  }
});

const HTTP = '@opentelemetry/instrumentation-http';
const UPSTREAM = ['--require', '@opentelemetry/auto-instrumentations-node/register'];
// Spans whose presence depends on load order, not on the library (the first lookup, connect).
const NOISE = new Set(['@opentelemetry/instrumentation-net', '@opentelemetry/instrumentation-dns']);

describe('ours and upstream', { concurrency: 3 }, () => {
  for (const lib of LIBRARIES.filter((l) => !l.suite)) {
    test(`${lib.library}: ${lib.cjs} makes the spans upstream's register makes`, { timeout: 60000 }, async (t) => {
      const s = lib.service ? services[lib.service] : { svc: undefined };
      if (s.error) throw s.error;
      if (s.skip) return t.skip(s.skip);
      const ours = { serviceName: oursUnderRequire.get(lib.id) };
      assert.ok(ours.serviceName, `the --require run of ${lib.cjs} above passed`);
      const theirs = await runApp(lib, s.svc, UPSTREAM, lib.cjs);
      const names = (svcName) => {
        const all = receiver.spans().filter((x) => x.resource['service.name'] === svcName && !NOISE.has(x.scope));
        return [...new Set(all.map((x) => `${x.scope} "${x.name}" ${x.kind}`))].sort();
      };
      // Both processes have exited, so both have sent their spans: wait only for them to be decoded.
      const sigs = [`${HTTP} "${lib.server.name}" SPAN_KIND_SERVER`, ...lib.spans.map((e) => `${e.scope} "${e.name}" SPAN_KIND_${e.kind}`)];
      const got = await waitFor(() => {
        const a = names(ours.serviceName);
        const b = names(theirs.serviceName);
        return sigs.every((x) => a.includes(x)) && b.some((x) => x.endsWith('SPAN_KIND_SERVER')) && [a, b];
      }, 10000);
      assert.ok(got, `spans from both: ours ${names(ours.serviceName).join(', ')}; upstream ${names(theirs.serviceName).join(', ')}`);
      const [a, b] = got;
      const onlyOurs = a.filter((x) => !b.includes(x));
      const onlyUpstream = b.filter((x) => !a.includes(x));
      assert.deepEqual({ onlyOurs, onlyUpstream }, lib.upstream?.differs ?? { onlyOurs: [], onlyUpstream: [] }, `ours and upstream differ${lib.upstream ? ` (expected: ${lib.upstream.why})` : ''}`);
    });
  }
});
