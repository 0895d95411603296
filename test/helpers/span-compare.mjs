// Exported spans of two runs of one app, put in a form where equal behaviour gives deep-equal
// values: ids become positions in the span tree, times inside the run become 'during run' (times
// the app gave explicitly, which fall outside it, stay exact), and attribute values keep their
// OTLP type (an int is a BigInt, a double a Number), so an int sent as a double is a difference.
// Used by test/e2e/tracer-conformance.test.mjs and test/e2e/http-server.test.mjs.
import { MockOtlpServer } from '@elastic/mockotlpserver';
import { inspect, isDeepStrictEqual } from 'node:util';

// test/helpers/otlp.mjs keeps only the receiver's normalized form, which turns every number into
// a JS number; the comparison needs the wire types, so this receiver keeps the decoded request.
/** What legitimately differs between two runs of one app, each with its reason (canonical()'s `normalize`). */
export const NORMALIZE = {
  resource: {
    'test.run': 'set per run by this test, to tell the runs apart',
    'process.pid': 'a new process each run',
    'service.instance.id': 'a random id per process',
  },
  span: {
    'server.port': "the app's own server listens on an ephemeral port",
    'network.peer.port': 'the ephemeral port of the other end',
    'network.local.port': 'the ephemeral port of this end',
    'client.port': "the client's ephemeral port",
    'url.full': ["the app's own server's ephemeral port", /(?<=^[a-z]+:\/\/[^/]*:)\d+/],
  },
};

/** An OTLP receiver (http/protobuf and http/json) on 127.0.0.1 keeping every span with its resource and scope. */
export async function startSpanReceiver() {
  const records = [];
  const server = new MockOtlpServer({
    logLevel: 'warn',
    services: ['http'],
    httpHostname: '127.0.0.1',
    httpPort: 0,
    onTrace: (req) => {
      const plain = typeof req.constructor?.toObject === 'function' ? req.constructor.toObject(req, { longs: String, enums: String, bytes: String }) : req;
      for (const rs of plain.resourceSpans ?? [])
        for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) records.push({ resource: rs.resource ?? {}, resourceSchemaUrl: rs.schemaUrl ?? '', scope: ss.scope ?? {}, scopeSchemaUrl: ss.schemaUrl ?? '', span });
    },
  });
  await server.start();
  return {
    url: server.httpUrl.href.replace(/\/$/, ''),
    /** The records whose resource has `key` = `value` (a string attribute). */
    select: (key, value) => records.filter((r) => (r.resource.attributes ?? []).some((a) => a.key === key && a.value?.stringValue === value)),
    close: () => server.close(),
  };
}

const KIND = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
const enumName = (names, v) => (typeof v === 'number' ? names[v] : (v ?? names[0]));
/** Ids arrive as base64 (protobuf) or hex (OTLP/JSON). */
const hexId = (v) => (!v ? '' : /^[0-9a-f]+$/.test(v) && (v.length === 16 || v.length === 32) ? v : Buffer.from(v, 'base64').toString('hex'));

/** An OTLP AnyValue as a JS value that keeps its type: int -> BigInt, bytes -> Buffer, empty -> null. */
export function anyValue(v) {
  if (v == null) return null;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return BigInt(v.intValue);
  // OTLP/JSON writes NaN and infinities as strings, or (upstream's JSON.stringify) as null.
  if ('doubleValue' in v) return v.doubleValue === null ? null : Number(v.doubleValue);
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(anyValue);
  if ('kvlistValue' in v) return attributes(v.kvlistValue.values);
  if ('bytesValue' in v) return Buffer.from(v.bytesValue, 'base64');
  return null;
}
/**
 * OTLP attributes as an object. `normalize` maps keys to the reason their values legitimately
 * differ between two runs: such a value becomes `<reason>`, unless it is one of `keep`; a
 * [reason, RegExp] entry replaces only what the pattern matches in a string value.
 */
export function attributes(list = [], normalize = {}, keep = new Set()) {
  const out = {};
  for (const { key, value } of list) {
    const v = anyValue(value);
    const rule = Object.hasOwn(normalize, key) && !keep.has(v) ? normalize[key] : undefined;
    if (rule === undefined) out[key] = v;
    else if (Array.isArray(rule)) out[key] = typeof v === 'string' ? v.replace(rule[1], `<${rule[0]}>`) : v;
    else out[key] = `<${rule}>`;
  }
  return out;
}

/**
 * The canonical form of one run's records (from startSpanReceiver().select()).
 * `window`: [startNs, endNs] (BigInt) of the run: times inside it are the tracer's own and become
 * 'during run'; `normalize`: { resource: {key: reason}, span: {key: reason} } names attributes
 * whose values legitimately differ between two runs (ports, pids): their values become <reason>,
 * except the values in normalize.keep (say, the port of a database both runs use).
 * Returns { resource, scopes, spans, problems }, problems being broken time sanity.
 */
export function canonical(records, { window, normalize = {} }) {
  const [from, to] = window;
  const when = (ns) => (ns === undefined ? 'absent' : BigInt(ns) >= from && BigInt(ns) <= to ? 'during run' : String(ns));
  const byId = new Map(records.map((r) => [hexId(r.span.spanId), r]));
  const parentOf = (r) => byId.get(hexId(r.span.parentSpanId));
  const children = new Map();
  const roots = [];
  for (const r of records) {
    const p = parentOf(r);
    if (p) children.set(p, [...(children.get(p) ?? []), r]);
    else roots.push(r);
  }
  // Siblings are ordered by what they are, then by start time among equals, so that two spans
  // started in the same clock tick on one side and not the other cannot swap places.
  const key = (r) => `${r.scope.name ?? ''}\u0000${r.span.name}\u0000${enumName(KIND, r.span.kind)}`;
  const order = (list) => [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : Number(BigInt(a.span.startTimeUnixNano ?? 0) - BigInt(b.span.startTimeUnixNano ?? 0))));
  const label = new Map();
  const sorted = [];
  const visit = (list, prefix) => {
    const seen = new Map();
    for (const r of order(list)) {
      // Numbered by name, so that two siblings of one name from two scopes keep apart.
      const n = seen.get(r.span.name) ?? 0;
      seen.set(r.span.name, n + 1);
      const name = `${prefix}${r.span.name}${n ? `#${n + 1}` : ''}`;
      label.set(r, name);
      sorted.push(r);
      visit(children.get(r) ?? [], `${name} > `);
    }
  };
  visit(roots, '');

  // A trace id the app chose (that of a remote parent) is kept; the others are numbered.
  const traces = new Map();
  let numbered = 0;
  for (const r of sorted) {
    const t = hexId(r.span.traceId);
    if (!traces.has(t)) traces.set(t, !parentOf(r) && r.span.parentSpanId ? t : `trace ${++numbered}`);
  }
  const target = (traceId, spanId) => {
    const r = byId.get(hexId(spanId));
    return r && hexId(r.span.traceId) === hexId(traceId) ? label.get(r) : `${hexId(traceId)}-${hexId(spanId)}`;
  };

  const problems = [];
  const spans = sorted.map((r) => {
    const s = r.span;
    const p = parentOf(r);
    const start = BigInt(s.startTimeUnixNano ?? 0);
    const end = BigInt(s.endTimeUnixNano ?? 0);
    if (end < start) problems.push(`${label.get(r)}: ends before it starts`);
    // A child starts after its parent; 1 ms of slack for a parent timed at sub-ms precision.
    if (p && when(s.startTimeUnixNano) === 'during run' && when(p.span.startTimeUnixNano) === 'during run' && start + 1000000n < BigInt(p.span.startTimeUnixNano)) problems.push(`${label.get(r)}: starts before its parent`);
    for (const e of s.events ?? []) if (when(e.timeUnixNano) === 'during run' && when(s.startTimeUnixNano) === 'during run' && (BigInt(e.timeUnixNano) < start || BigInt(e.timeUnixNano) > end)) problems.push(`${label.get(r)}: event "${e.name}" outside its span`);
    return {
      span: label.get(r),
      scope: r.scope.name ?? '',
      name: s.name,
      kind: enumName(KIND, s.kind),
      parent: p ? label.get(p) : s.parentSpanId ? `remote ${hexId(s.parentSpanId)}` : null,
      trace: traces.get(hexId(s.traceId)),
      traceState: s.traceState ?? '',
      flags: s.flags ?? 0,
      start: when(s.startTimeUnixNano),
      end: when(s.endTimeUnixNano),
      attributes: attributes(s.attributes, normalize.span, normalize.keep),
      droppedAttributesCount: s.droppedAttributesCount ?? 0,
      events: (s.events ?? []).map((e) => ({ name: e.name ?? '', time: when(e.timeUnixNano), attributes: attributes(e.attributes), droppedAttributesCount: e.droppedAttributesCount ?? 0 })),
      droppedEventsCount: s.droppedEventsCount ?? 0,
      links: (s.links ?? []).map((l) => ({ to: target(l.traceId, l.spanId), traceState: l.traceState ?? '', flags: l.flags ?? 0, attributes: attributes(l.attributes), droppedAttributesCount: l.droppedAttributesCount ?? 0 })),
      droppedLinksCount: s.droppedLinksCount ?? 0,
      status: { code: enumName(STATUS, s.status?.code), message: s.status?.message ?? '' },
    };
  });

  // Resources and scopes: the distinct ones, in the order of the spans that carry them.
  const distinct = (f) => [...new Map(sorted.map((r) => [inspect(f(r), { depth: Infinity }), f(r)])).values()];
  const resource = distinct((r) => ({ attributes: attributes(r.resource.attributes, normalize.resource, normalize.keep), droppedAttributesCount: r.resource.droppedAttributesCount ?? 0, schemaUrl: r.resourceSchemaUrl }));
  const scopes = distinct((r) => ({ name: r.scope.name ?? '', version: r.scope.version ?? '', attributes: attributes(r.scope.attributes), droppedAttributesCount: r.scope.droppedAttributesCount ?? 0, schemaUrl: r.scopeSchemaUrl })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { resource, scopes, spans, problems };
}

const show = (v) => inspect(v, { depth: Infinity, breakLength: 160, sorted: false, maxArrayLength: Infinity, maxStringLength: Infinity });

/**
 * A readable account of how canonical forms `a` and `b` differ (labelled `names`), or '' when
 * they are equal: each differing field by path, both values beside each other.
 */
export function describeDifference(a, b, names = ['a', 'b']) {
  const lines = [];
  const walk = (x, y, path) => {
    if (isDeepStrictEqual(x, y)) return;
    const plain = (v) => v !== null && typeof v === 'object' && !Buffer.isBuffer(v);
    if (plain(x) && plain(y) && Array.isArray(x) === Array.isArray(y)) {
      // Spans are matched by their tree position, not their index in the list.
      const keyed = Array.isArray(x) && [...x, ...y].every((v) => plain(v) && typeof v.span === 'string');
      const index = (list) => (Array.isArray(list) ? new Map(list.map((v, i) => [keyed ? v.span : String(i), v])) : new Map(Object.entries(list)));
      const [ix, iy] = [index(x), index(y)];
      for (const k of new Set([...ix.keys(), ...iy.keys()])) {
        const at = Array.isArray(x) ? `${path}[${keyed ? JSON.stringify(k) : k}]` : `${path}.${k}`;
        if (!ix.has(k)) lines.push(`${at}: only in ${names[1]}: ${show(iy.get(k))}`);
        else if (!iy.has(k)) lines.push(`${at}: only in ${names[0]}: ${show(ix.get(k))}`);
        else walk(ix.get(k), iy.get(k), at);
      }
      return;
    }
    lines.push(`${path}:\n    ${names[0]}: ${show(x)}\n    ${names[1]}: ${show(y)}`);
  };
  walk(a, b, '');
  return lines.join('\n');
}
