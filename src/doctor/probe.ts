import { readFileSync } from 'node:fs';
import type { OtlpSettings, Signal } from '../sdk/exporters';
import { errorText } from '../log';
import { finding, type Finding } from './types';

/** The gRPC method each signal's OTLP exporter calls. */
const GRPC_PATHS: Record<Signal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timeout',
  EAI_AGAIN: 'DNS lookup failed',
  ENOTFOUND: 'host not found',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
};

const TLS = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH|ERR_TLS/;

function codeOf(err: unknown): string {
  const c = err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  return typeof c === 'string' ? c : '';
}

function tlsOptions(s: OtlpSettings): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const read = (f: string | undefined): Buffer | undefined => (f === undefined ? undefined : readFileSync(f));
  const out: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  const ca = read(s.tls.ca);
  const cert = read(s.tls.cert);
  const key = read(s.tls.key);
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  return out;
}

const AUTH_FIX = 'check the credentials in OTEL_EXPORTER_OTLP_HEADERS (or the per-signal OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS)';

/** What a transport-level error means for this endpoint. */
function networkFinding(where: string, err: unknown, protocol: string): Finding {
  const code = codeOf(err);
  const text = errorText(err);
  if (protocol !== 'grpc' && code.startsWith('HPE_'))
    return finding('error', 'wrong-protocol', `${where}: the server does not speak HTTP/1.1 (it looks like a gRPC port)`, 'use OTEL_EXPORTER_OTLP_PROTOCOL=grpc for this port, or point the endpoint at the HTTP port (4318 by default)');
  if (TLS.test(code) || TLS.test(text)) return finding('error', 'tls', `${where}: TLS failed: ${text}`, 'check the https/http scheme of the endpoint and OTEL_EXPORTER_OTLP_CERTIFICATE (the CA to trust)');
  if (NETWORK[code] !== undefined) return finding('error', 'endpoint-unreachable', `${where}: ${NETWORK[code]}`, 'start the collector or fix the endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)');
  return finding('error', 'endpoint-unreachable', `${where}: ${text}`, 'check the endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)');
}

/** The JSON key of field 1 of each signal's export request. */
const JSON_KEY: Record<Signal, string> = { traces: 'resourceSpans', metrics: 'resourceMetrics', logs: 'resourceLogs' };

/**
 * POSTs an export request holding one empty resource entry and no telemetry, the way the exporter
 * would. Not a zero-byte body: some receivers answer 400 to that. Field 1 of every signal's
 * Export*ServiceRequest is its repeated resource entry: tag 0x0a, length 0.
 */
function probeHttp(signal: Signal, s: OtlpSettings, timeoutMs: number): Promise<Finding> {
  const where = `${signal} ${s.protocol} ${s.url}`;
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(s.url);
    } catch (err) {
      resolve(finding('error', 'endpoint-invalid', `${where}: ${errorText(err)}`));
      return;
    }
    const json = s.protocol === 'http/json';
    const body = json ? JSON.stringify({ [JSON_KEY[signal]]: [{}] }) : Buffer.from([0x0a, 0x00]);
    const mod = url.protocol === 'https:' ? (require('node:https') as typeof import('node:https')) : (require('node:http') as typeof import('node:http'));
    let req: import('node:http').ClientRequest;
    try {
      req = mod.request(url, {
        method: 'POST',
        headers: { ...s.headers, 'content-type': json ? 'application/json' : 'application/x-protobuf', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
        ...(url.protocol === 'https:' ? tlsOptions(s) : {}),
      });
    } catch (err) {
      resolve(networkFinding(where, err, s.protocol));
      return;
    }
    req.on('response', (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) resolve(finding('ok', 'endpoint-ok', `${where}: an OTLP receiver answered ${status}`));
      else if (status === 401 || status === 403) resolve(finding('error', 'endpoint-auth', `${where}: the receiver refused the credentials (HTTP ${status})`, AUTH_FIX));
      else if (status === 404 || status === 405) resolve(finding('error', 'endpoint-path', `${where}: HTTP ${status}, no OTLP receiver at this path`, 'OTEL_EXPORTER_OTLP_ENDPOINT gets /v1/<signal> appended; a per-signal endpoint is used as is and needs the full path'));
      else if (status === 415 || status === 400) resolve(finding('warning', 'endpoint-status', `${where}: HTTP ${status} to an empty export request`, 'check OTEL_EXPORTER_OTLP_PROTOCOL matches what the receiver accepts'));
      else resolve(finding('error', 'endpoint-status', `${where}: HTTP ${status}`, 'the receiver is up but failing; check its logs'));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => resolve(networkFinding(where, err, s.protocol)));
    req.end(body);
  });
}

const GRPC_AUTH: Record<string, string> = { '16': 'UNAUTHENTICATED', '7': 'PERMISSION_DENIED' };

/** One unary gRPC call with an empty request message, over HTTP/2 as grpc-js would make it. */
function probeGrpc(signal: Signal, s: OtlpSettings, timeoutMs: number): Promise<Finding> {
  const where = `${signal} grpc ${s.url}`;
  const http2 = require('node:http2') as typeof import('node:http2');
  return new Promise((resolve) => {
    let settled = false;
    let session: import('node:http2').ClientHttp2Session | undefined;
    const done = (f: Finding): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session?.destroy();
      resolve(f);
    };
    const timer = setTimeout(() => done(finding('error', 'endpoint-unreachable', `${where}: no answer within ${timeoutMs} ms`, 'check the endpoint and that the collector listens for gRPC (4317 by default)')), timeoutMs);
    try {
      const url = new URL(s.url);
      session = http2.connect(url, url.protocol === 'https:' ? tlsOptions(s) : {});
      session.on('error', (err) => {
        // nghttp2 on an HTTP/1.1 answer to its connection preface.
        if (/Protocol error|ERR_HTTP2_(ERROR|SESSION_ERROR)/.test(`${codeOf(err)} ${errorText(err)}`) || codeOf(err) === 'ECONNRESET')
          done(finding('error', 'wrong-protocol', `${where}: the server does not speak HTTP/2 (it looks like an HTTP/1.1 port)`, 'use OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf for this port, or point the endpoint at the gRPC port (4317 by default)'));
        else done(networkFinding(where, err, 'grpc'));
      });
      const meta = Object.fromEntries(Object.entries(s.headers).map(([k, v]) => [k.toLowerCase(), v]));
      const req = session.request({ ...meta, ':method': 'POST', ':path': GRPC_PATHS[signal], 'content-type': 'application/grpc', te: 'trailers' });
      let status: string | undefined;
      let httpStatus = 0;
      const take = (h: Record<string, unknown>): void => {
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      };
      req.on('response', (h) => {
        httpStatus = Number(h[':status'] ?? 0);
        take(h);
      });
      req.on('trailers', take);
      req.on('error', () => undefined);
      req.on('close', () => {
        if (status === '0') done(finding('ok', 'endpoint-ok', `${where}: an OTLP gRPC receiver answered OK`));
        else if (status !== undefined && GRPC_AUTH[status] !== undefined) done(finding('error', 'endpoint-auth', `${where}: the receiver refused the credentials (gRPC ${GRPC_AUTH[status]})`, AUTH_FIX));
        else if (status === '12') done(finding('error', 'endpoint-path', `${where}: the server does not implement the OTLP ${signal} service (gRPC UNIMPLEMENTED)`));
        else if (status !== undefined) done(finding('error', 'endpoint-status', `${where}: gRPC status ${status}`));
        else if (httpStatus !== 0) done(finding('error', 'wrong-protocol', `${where}: HTTP/2 status ${httpStatus} without a gRPC status: not a gRPC server`, 'use OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf for this endpoint'));
      });
      req.resume();
      req.end(Buffer.from([0, 0, 0, 0, 0]));
    } catch (err) {
      done(networkFinding(where, err, 'grpc'));
    }
  });
}

export function probe(signal: Signal, s: OtlpSettings, timeoutMs: number): Promise<Finding> {
  return s.protocol === 'grpc' ? probeGrpc(signal, s, timeoutMs) : probeHttp(signal, s, timeoutMs);
}
