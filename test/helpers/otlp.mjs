// A real OTLP receiver (@elastic/mockotlpserver decodes with the official protos) on 127.0.0.1,
// ephemeral ports, collecting what it decodes.
import { MockOtlpServer, normalizeLogs, normalizeMetrics, normalizeTrace } from '@elastic/mockotlpserver';

export async function startReceiver() {
  const traces = [];
  const metrics = [];
  const logs = [];
  /** Every request's transport, method, path and headers, as the receiver saw them. */
  const requests = [];
  const server = new MockOtlpServer({
    logLevel: 'warn',
    services: ['http', 'grpc'],
    httpHostname: '127.0.0.1',
    httpPort: 0,
    grpcHostname: '127.0.0.1',
    grpcPort: 0,
    onTrace: (t) => traces.push(normalizeTrace(t)),
    onMetrics: (m) => metrics.push(normalizeMetrics(m)),
    onLogs: (l) => logs.push(normalizeLogs(l)),
    onRequest: (r) => requests.push(r),
  });
  await server.start();
  return {
    httpUrl: server.httpUrl.href.replace(/\/$/, ''),
    grpcUrl: server.grpcUrl.href.replace(/\/$/, ''),
    traces,
    metrics,
    logs,
    requests,
    /** Every span received so far, each with its resource attributes beside it. */
    spans() {
      const out = [];
      for (const t of traces)
        for (const rs of t.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? []) out.push({ ...s, scope: ss.scope?.name, resource: rs.resource?.attributes ?? {} });
      return out;
    },
    metricNames() {
      const out = new Set();
      for (const m of metrics)
        for (const rm of m.resourceMetrics ?? []) for (const sm of rm.scopeMetrics ?? []) for (const x of sm.metrics ?? []) out.add(x.name);
      return out;
    },
    clear() {
      traces.length = 0;
      metrics.length = 0;
      logs.length = 0;
      requests.length = 0;
    },
    close: () => server.close(),
  };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes; returns the last value. */
export async function waitFor(check, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
