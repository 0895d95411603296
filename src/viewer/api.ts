// The JSON API behind the page (documented in docs/viewer.md): GET /api/traces, /api/traces/:id,
// /api/metrics, /api/logs, and /api/events, a server-sent stream that says "changed".
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Store, TraceFilter } from './store';

const TRACE_PATH = /^\/api\/traces\/([0-9a-fA-F]{1,64})$/;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function numberParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export function traceFilter(q: URLSearchParams): TraceFilter {
  return {
    service: q.get('service') || undefined,
    name: q.get('name') || undefined,
    status: q.get('status') || undefined,
    minDurationMs: numberParam(q, 'minDurationMs'),
    limit: numberParam(q, 'limit'),
  };
}

/** Answers an /api/* request; false when the path is not one of ours. */
export function api(url: URL, req: IncomingMessage, res: ServerResponse, store: Store, events: Set<ServerResponse>): boolean {
  const q = url.searchParams;
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (url.pathname === '/api/traces') {
    const traces = store.listTraces(traceFilter(q));
    send(res, 200, { traces, services: store.services(), usage: store.usage, limits: store.limits, dropped: store.dropped });
    return true;
  }
  const m = TRACE_PATH.exec(url.pathname);
  if (m) {
    const spans = store.trace(m[1]!);
    if (spans === undefined) send(res, 404, { error: `no trace ${m[1]} in the viewer (never received, or dropped as the oldest)` });
    else send(res, 200, { traceId: m[1]!.toLowerCase(), spans, logs: store.listLogs({ traceId: m[1]!.toLowerCase() }) });
    return true;
  }
  if (url.pathname === '/api/metrics') {
    send(res, 200, { metrics: store.listMetrics() });
    return true;
  }
  if (url.pathname === '/api/logs') {
    send(res, 200, { logs: store.listLogs({ traceId: q.get('traceId') || undefined, service: q.get('service') || undefined, limit: numberParam(q, 'limit') ?? 500 }) });
    return true;
  }
  if (url.pathname === '/api/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`retry: 1000\ndata: ${store.version}\n\n`);
    events.add(res);
    res.on('close', () => events.delete(res));
    return true;
  }
  return false;
}
