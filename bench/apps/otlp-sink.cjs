'use strict';
// A local OTLP/HTTP sink for the benches, in its own process so that its work does not share the
// load generator's event loop: listens on an ephemeral 127.0.0.1 port, answers 200 to every
// request. Sends { port } to the parent over IPC, and on every 'count' message the totals so far:
// { posts, bytes, paths, spans, roots, undecoded }. For trace exports it counts the spans and the
// root spans (no parent: one per trace that reached it; the benches' requests carry no
// traceparent) without building objects: protobuf bodies are walked field by field, JSON bodies
// (dd-trace speaks OTLP http/json only) parsed. A body it cannot read counts in `undecoded`.
// After a 'reset' (and only then: the other benches never send one, and keep no list) it also
// keeps each span's start time: { window: [from, to] } (epoch ms) answers { spans, roots } that
// started in that window, whenever their export arrived, so a bench can count a measured window's
// traces exactly once the server has flushed.
const http = require('node:http');

let posts = 0;
let bytes = 0;
let spans = 0;
let roots = 0;
let undecoded = 0;
const paths = {};
/** Start times (epoch ms) of the spans and root spans received since the last 'reset'. */
let spanStarts;
let rootStarts;

/** [value, offset after it] of the varint at p (values below 2^53). */
function varint(buf, p) {
  let v = 0;
  let shift = 0;
  let b;
  do {
    b = buf[p++];
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [v, p];
}

/**
 * Walks the fields of the message in buf[start, end): fn(field, wireType, p, end) for each, where p
 * is the field's payload (a length-delimited field's bytes end at `end`; for others `end` is unused).
 */
function eachField(buf, start, end, fn) {
  let p = start;
  while (p < end) {
    const [key, at] = varint(buf, p);
    const type = key & 7;
    const field = (key - type) / 8;
    p = at;
    if (type === 0) p = varint(buf, p)[1];
    else if (type === 1) {
      fn(field, type, p, p + 8);
      p += 8;
    } else if (type === 5) p += 4;
    else if (type === 2) {
      const [len, from] = varint(buf, p);
      fn(field, type, from, from + len);
      p = from + len;
    } else throw new Error(`wire type ${type}`);
  }
  if (p !== end) throw new Error('truncated message');
}

/** Calls fn(startMs, isRoot) for each span of a protobuf ExportTraceServiceRequest. */
function eachProtobufSpan(buf, fn) {
  // resource_spans = 1 -> scope_spans = 2 -> spans = 2; in a span, parent_span_id = 4 (bytes; 0
  // bytes or absent: no parent) and start_time_unix_nano = 7 (fixed64).
  eachField(buf, 0, buf.length, (f, t, rs, rsEnd) => {
    if (f !== 1 || t !== 2) return;
    eachField(buf, rs, rsEnd, (f2, t2, ss, ssEnd) => {
      if (f2 !== 2 || t2 !== 2) return;
      eachField(buf, ss, ssEnd, (f3, t3, sp, spEnd) => {
        if (f3 !== 2 || t3 !== 2) return;
        let parent = false;
        let start = 0;
        eachField(buf, sp, spEnd, (f4, t4, a, b) => {
          if (f4 === 4 && t4 === 2) parent = b > a;
          else if (f4 === 7 && t4 === 1) start = (buf.readUInt32LE(a + 4) * 2 ** 32 + buf.readUInt32LE(a)) / 1e6;
        });
        fn(start, !parent);
      });
    });
  });
}

function eachJsonSpan(buf, fn) {
  for (const rs of JSON.parse(buf.toString('utf8')).resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) fn(Number(span.startTimeUnixNano) / 1e6, !span.parentSpanId);
}

function onSpan(start, root) {
  spans++;
  spanStarts?.push(start);
  if (root) {
    roots++;
    rootStarts?.push(start);
  }
}

const inWindow = (starts, from, to) => starts.reduce((n, t) => (t >= from && t <= to ? n + 1 : n), 0);

const server = http.createServer((req, res) => {
  if (req.method === 'POST') posts++;
  const path = `${req.method} ${req.url.split('?')[0]}`;
  paths[path] = (paths[path] ?? 0) + 1;
  const traces = req.method === 'POST' && path.endsWith('/v1/traces');
  const chunks = [];
  req.on('data', (d) => {
    bytes += d.length;
    if (traces) chunks.push(d);
  });
  req.on('end', () => {
    // Counted before the answer: once an exporter has its 200, its spans are in the counts.
    if (traces) {
      try {
        const body = Buffer.concat(chunks);
        if (/json/.test(req.headers['content-type'] ?? '')) eachJsonSpan(body, onSpan);
        else eachProtobufSpan(body, onSpan);
      } catch {
        undecoded++;
      }
    }
    res.writeHead(200, { 'content-type': req.headers['content-type'] || 'application/json', 'content-length': 0 });
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (m) => {
  if (m === 'count') process.send({ posts, bytes, paths, spans, roots, undecoded });
  else if (m === 'reset') {
    spanStarts = [];
    rootStarts = [];
    process.send({ reset: true });
  } else if (Array.isArray(m?.window)) {
    const [from, to] = m.window;
    process.send({ spans: inWindow(spanStarts ?? [], from, to), roots: inWindow(rootStarts ?? [], from, to) });
  }
});
process.on('disconnect', () => process.exit(0));
