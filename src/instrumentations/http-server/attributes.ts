// The server span's attributes exactly as @opentelemetry/instrumentation-http 0.300.0 builds them
// (its dist/utils.cjs: getIncomingRequestAttributes, getServerAddress, getRemoteClientAddress,
// getInfoFromIncomingMessage, normalizeMethod): same keys, same values, same insertion order.
// That version emits the stable HTTP semantic conventions only; it no longer reads
// OTEL_SEMCONV_STABILITY_OPT_IN. Where it can be cheaper without changing a value (the URL of an
// ordinary path, the validity of a Host header already seen) it is; anything unusual takes the
// same slow path as upstream. The conformance test (test/unit/http-server-instrumentation.test.mjs)
// compares both on a table of odd requests.
import type { Attributes } from '@opentelemetry/api';
import type { IncomingMessage } from 'node:http';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);
export const DEFAULT_QUERY_STRINGS_TO_REDACT = ['sig', 'Signature', 'AWSAccessKeyId', 'X-Goog-Signature', 'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token'];
const REDACTED = 'REDACTED';

export function normalizeMethod(method: string | undefined): string {
  if (method == null) return 'GET';
  if (KNOWN_METHODS.has(method)) return method;
  const upper = method.toUpperCase();
  return KNOWN_METHODS.has(upper) ? upper : '_OTHER';
}

/** Upstream's redactQueryString: a URLSearchParams round trip, which also re-encodes. */
function redactQuery(search: string, redact: readonly string[]): string {
  const params = new URLSearchParams(search);
  for (const p of redact) if (params.has(p)) params.set(p, REDACTED);
  return params.toString();
}

// A path made only of these characters, with no dot segment and not starting with "//" (which
// `new URL` reads as a host), is its own WHATWG pathname.
const PLAIN_PATH = /^\/[A-Za-z0-9\-_~!$&'()*+,;=:@/]*$/;
/** Host headers seen, and whether `new URL` accepts them as a base; bounded. */
const hostOk = new Map<string, boolean>();

function validHost(component: string, host: string): boolean {
  let ok = hostOk.get(host);
  if (ok === undefined) {
    try {
      new URL('/', `${component}://${host}`);
      ok = true;
    } catch {
      ok = false;
    }
    if (hostOk.size >= 256) hostOk.clear();
    hostOk.set(host, ok);
  }
  return ok;
}

/** url.path and url.search as upstream's getInfoFromIncomingMessage finds them. */
function pathAndSearch(component: string, request: IncomingMessage): { pathname?: string; search?: string } {
  const url = request.url ?? '/';
  const host = request.headers.host;
  if (PLAIN_PATH.test(url) && url[1] !== '/' && !url.includes('/.') && (!host || validHost(component, host))) return { pathname: url, search: '' };
  try {
    const u = new URL(url, `${component}://${host || 'localhost'}`);
    return { pathname: u.pathname, search: u.search };
  } catch {
    return {};
  }
}

function parseHostHeader(hostHeader: string, proto?: string): { host: string; port?: string } {
  const parts = hostHeader.split(':');
  if (parts.length === 1) {
    if (proto === 'http') return { host: parts[0]!, port: '80' };
    if (proto === 'https') return { host: parts[0]!, port: '443' };
    return { host: parts[0]! };
  }
  if (parts.length === 2) return { host: parts[0]!, port: parts[1]! };
  if (parts[0]!.startsWith('[')) {
    if (parts[parts.length - 1]!.endsWith(']')) {
      if (proto === 'http') return { host: hostHeader, port: '80' };
      if (proto === 'https') return { host: hostHeader, port: '443' };
    } else if (parts[parts.length - 2]!.endsWith(']')) {
      return { host: parts.slice(0, -1).join(':'), port: parts[parts.length - 1]! };
    }
  }
  return { host: hostHeader };
}

type Forwarded = { host?: string; proto?: string; for?: string }[];
let forwardedParse: ((header: string) => Forwarded) | undefined;
/** Upstream's parser for the Forwarded header (its dependency), loaded on the first such header. */
function parseForwarded(header: string): Forwarded {
  try {
    forwardedParse ??= require(require.resolve('forwarded-parse', { paths: [require.resolve('@opentelemetry/instrumentation-http')] })) as (h: string) => Forwarded;
    return forwardedParse(header);
  } catch {
    return [];
  }
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

function serverAddress(request: IncomingMessage, component: string): { host: string; port?: string } | null {
  const h = request.headers;
  const forwarded = h.forwarded;
  if (forwarded) for (const e of parseForwarded(forwarded)) if (e.host) return parseHostHeader(e.host, e.proto);
  const xfh = h['x-forwarded-host'];
  const xfhValue = typeof xfh === 'string' ? xfh : Array.isArray(xfh) && typeof xfh[0] === 'string' && xfh[0].length > 0 ? xfh[0] : undefined;
  if (xfhValue !== undefined) {
    const proto = first(h['x-forwarded-proto']);
    return typeof proto === 'string' ? parseHostHeader(xfhValue, proto) : parseHostHeader(xfhValue);
  }
  const host = h.host;
  return typeof host === 'string' && host.length > 0 ? parseHostHeader(host, component) : null;
}

function removePort(input: string): string {
  try {
    const { hostname } = new URL(`http://${input}`);
    return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  } catch {
    return input;
  }
}

function clientAddress(request: IncomingMessage): string | null {
  const h = request.headers;
  const forwarded = h.forwarded;
  if (forwarded) for (const e of parseForwarded(forwarded)) if (e.for) return removePort(e.for);
  const xff = h['x-forwarded-for'];
  if (xff) {
    const v = first(xff);
    if (typeof v === 'string') return removePort(v.split(',')[0]!.trim());
  }
  return request.socket.remoteAddress || null;
}

const SYNTHETIC_TEST = ['alwayson'];
const SYNTHETIC_BOT = ['googlebot', 'bingbot'];
function syntheticType(userAgent: string): string | undefined {
  const ua = String(userAgent).toLowerCase();
  if (SYNTHETIC_TEST.some((n) => ua.includes(n))) return 'test';
  if (SYNTHETIC_BOT.some((n) => ua.includes(n))) return 'bot';
  return undefined;
}

export interface RequestAttributeOptions {
  component: 'http' | 'https';
  enableSyntheticSourceDetection: boolean;
  redactedQueryParams: readonly string[];
}

/**
 * The attributes the server span starts with, in upstream's order, leaving out the keys whose
 * value is undefined (upstream's tracer drops them when it cleans the object; ours may keep this
 * object as it is: src/trace/owned.ts).
 */
export function incomingRequestAttributes(request: IncomingMessage, o: RequestAttributeOptions): Attributes {
  const { headers, method } = request;
  const userAgent = headers['user-agent'];
  const parsed = pathAndSearch(o.component, request);
  const normalized = normalizeMethod(method);
  const server = serverAddress(request, o.component);
  const client = clientAddress(request);
  const socket = request.socket;
  const host = server?.host;
  const peer = socket.remoteAddress;
  const peerPort = socket.remotePort;
  const version = request.httpVersion;
  const port = server?.port;
  const synthetic = o.enableSyntheticSourceDetection && userAgent ? syntheticType(userAgent) : undefined;
  // The usual request in one literal (an object of the right size at once); anything else key by key.
  if (host !== undefined && peer !== undefined && peerPort !== undefined && version !== undefined && userAgent !== undefined && parsed.pathname != null && !parsed.search && client != null && port != null && method === normalized && synthetic === undefined) {
    return {
      'http.request.method': normalized,
      'url.scheme': o.component,
      'server.address': host,
      'network.peer.address': peer,
      'network.peer.port': peerPort,
      'network.protocol.version': version,
      'user_agent.original': userAgent,
      'url.path': parsed.pathname,
      'client.address': client,
      'server.port': Number(port),
    };
  }
  const attributes: Attributes = { 'http.request.method': normalized, 'url.scheme': o.component };
  if (host !== undefined) attributes['server.address'] = host;
  if (peer !== undefined) attributes['network.peer.address'] = peer;
  if (peerPort !== undefined) attributes['network.peer.port'] = peerPort;
  if (version !== undefined) attributes['network.protocol.version'] = version;
  if (userAgent !== undefined) attributes['user_agent.original'] = userAgent;
  if (parsed.pathname != null) attributes['url.path'] = parsed.pathname;
  if (parsed.search) attributes['url.query'] = redactQuery(parsed.search.slice(1), o.redactedQueryParams);
  if (client != null) attributes['client.address'] = client;
  if (port != null) attributes['server.port'] = Number(port);
  if (method !== normalized && method !== undefined) attributes['http.request.method_original'] = method;
  if (synthetic !== undefined) attributes['user_agent.synthetic.type'] = synthetic;
  return attributes;
}

/** Upstream's headerCapture: `http.<type>.header.<name>` attributes, values as arrays. */
export function headerCapture(type: 'request' | 'response', names: readonly string[]): ((get: (h: string) => unknown) => Attributes) | undefined {
  if (names.length === 0) return undefined;
  const lower = [...new Set(names.map((n) => n.toLowerCase()))];
  return (get) => {
    const attributes: Attributes = {};
    for (const h of lower) {
      const v = get(h);
      if (v === undefined) continue;
      attributes[`http.${type}.header.${h}`] = (Array.isArray(v) ? v : [v]) as string[];
    }
    return attributes;
  };
}
