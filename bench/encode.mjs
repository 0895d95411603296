#!/usr/bin/env node
// OTLP trace encoding: `npm run bench:encode [-- --node 22|24|PATH --rounds R --ms MS --batch N]`.
//
// µs per span to serialize one batch (the BatchSpanProcessor's 512 spans by default) of real
// spans from upstream's SDK, ours (src/otlp) against upstream's serializers (otlp-transformer
// 0.300), protobuf and JSON, variants alternating within each round; medians over the rounds.
// The span shapes are the ones our register recorded for one request to the steady-state apps
// (bench/apps/encode-shapes.json: node:http hello, 1 span; Express hello, 4 spans).
// Then, for the worker-thread question: what handing the same spans to a worker costs the app's
// thread (copying out the fields OTLP needs, and postMessage's structured clone). Exits 0 whatever the numbers.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { benchArgs, ROOT } from './args.mjs';

const { opt, node } = benchArgs('usage: npm run bench:encode [-- --node 22|24|PATH --rounds 9 --ms 300 --batch 512]');
if (process.execPath !== node && !process.env.BENCH_ENCODE_CHILD) {
  const r = spawnSync(node, process.argv.slice(1), { stdio: 'inherit', env: { ...process.env, BENCH_ENCODE_CHILD: '1' } });
  process.exit(r.status ?? 0);
}
const ROUNDS = Number(opt('--rounds', '9'));
const MS = Number(opt('--ms', '300'));
const BATCH = Number(opt('--batch', '512'));

const require = createRequire(import.meta.url);
const api = require('@opentelemetry/api');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { TracerProvider } = require('@opentelemetry/sdk-trace');
const { JsonTraceSerializer, ProtobufTraceSerializer } = require('@opentelemetry/otlp-transformer');
const { encodeTraceProto } = require(join(ROOT, 'dist/otlp/proto-trace.js'));
const { encodeTraceJson } = require(join(ROOT, 'dist/otlp/json-trace.js'));
const { SpanBatch } = require(join(ROOT, 'dist/otlp/span-batch.js'));
const shapes = JSON.parse(readFileSync(join(ROOT, 'bench/apps/encode-shapes.json'), 'utf8'));

/** `BATCH` ended SDK spans: one request's spans (first is the server span, the rest its children), repeated. */
function batchOf(shape) {
  const spans = [];
  const provider = new TracerProvider({
    resource: resourceFromAttributes(shapes.resource),
    spanProcessors: [{ onStart() {}, onEnd: (s) => spans.push(s), forceFlush: async () => {}, shutdown: async () => {} }],
  });
  const tracers = new Map();
  const tracer = (scope) => tracers.get(scope.name) ?? tracers.set(scope.name, provider.getTracer(scope.name, scope.version)).get(scope.name);
  while (spans.length < BATCH) {
    const [first, ...rest] = shape;
    const root = tracer(first.scope).startSpan(first.name, { kind: first.kind, attributes: first.attributes });
    const ctx = api.trace.setSpan(api.ROOT_CONTEXT, root);
    for (const s of rest) tracer(s.scope).startSpan(s.name, { kind: s.kind, attributes: s.attributes }, ctx).end();
    root.end();
  }
  return spans.slice(0, BATCH);
}

/** What a worker would need of a span: its OTLP fields as plain data (a span object does not clone: spanContext is a function). */
function plain(s) {
  const c = s.spanContext();
  return {
    traceId: c.traceId,
    spanId: c.spanId,
    traceFlags: c.traceFlags,
    traceState: c.traceState?.serialize(),
    parentSpanId: s.parentSpanContext?.spanId,
    parentRemote: s.parentSpanContext?.isRemote,
    name: s.name,
    kind: s.kind,
    startTime: s.startTime,
    endTime: s.endTime,
    attributes: s.attributes,
    status: s.status,
    events: s.events,
    links: s.links,
    droppedAttributesCount: s.droppedAttributesCount,
    droppedEventsCount: s.droppedEventsCount,
    droppedLinksCount: s.droppedLinksCount,
    scope: s.instrumentationScope.name,
  };
}

const worker = new Worker("require('node:worker_threads').parentPort.on('message', () => {})", { eval: true });
worker.unref();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/**
 * CPU µs per span (this thread's user + system time, so that other processes on a busy machine
 * weigh less): `fn` repeated on the batch for about MS milliseconds of wall time.
 */
function time(fn, spans) {
  for (let i = 0; i < 3; i++) fn(spans);
  let n = 0;
  const end = performance.now() + MS;
  const c0 = process.threadCpuUsage();
  while (performance.now() < end) {
    fn(spans);
    n++;
  }
  const c = process.threadCpuUsage(c0);
  return (c.user + c.system) / n / spans.length;
}

const VARIANTS = {
  'protobuf, upstream': (s) => ProtobufTraceSerializer.serializeRequest(s),
  'protobuf, ours': (s) => encodeTraceProto(s),
  // Each span encoded as it ends (src/sdk/encoding-processor.ts), then the request assembled.
  'protobuf, ours, span by span': (s) => {
    const b = new SpanBatch(false);
    for (let i = 0; i < s.length; i++) b.add(s[i]);
    return b.bytes();
  },
  'JSON, upstream': (s) => JsonTraceSerializer.serializeRequest(s),
  'JSON, ours': (s) => encodeTraceJson(s),
  'JSON, ours, span by span': (s) => {
    const b = new SpanBatch(true);
    for (let i = 0; i < s.length; i++) b.add(s[i]);
    return b.bytes();
  },
  'to a worker, one message per span': (s) => {
    for (let i = 0; i < s.length; i++) worker.postMessage(plain(s[i]));
  },
  'to a worker, one message per batch': (s) => worker.postMessage(s.map(plain)),
};

console.log(`OTLP trace encoding, Node ${process.version}: µs per span, batches of ${BATCH}, median [range] of ${ROUNDS} rounds of ${MS} ms per variant, CPU time of this thread`);
const raw = { batch: BATCH, rounds: ROUNDS, ms: MS, workloads: {} };
for (const [workload, label] of [['http', 'node:http hello, 1 span per request'], ['express', 'Express hello, 4 spans per request']]) {
  const spans = batchOf(shapes[workload]);
  const samples = Object.fromEntries(Object.keys(VARIANTS).map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) for (const [k, fn] of Object.entries(VARIANTS)) samples[k].push(time(fn, spans));
  const med = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, median(xs)]));
  raw.workloads[workload] = { median: med, samples, protobufBytesPerSpan: encodeTraceProto(spans).length / spans.length };
  console.log(`\n${label} (${raw.workloads[workload].protobufBytesPerSpan.toFixed(0)} protobuf bytes per span)`);
  for (const [k, v] of Object.entries(med)) {
    const base = k.startsWith('protobuf, ours') ? med['protobuf, upstream'] : k.startsWith('JSON, ours') ? med['JSON, upstream'] : k.startsWith('to a worker') ? med['protobuf, ours'] : undefined;
    const ratio = base === undefined ? '' : k.startsWith('to a worker') ? `  (${(v / base).toFixed(2)}x encoding it here)` : `  (${(v / base).toFixed(2)}x upstream)`;
    const xs = samples[k];
    console.log(`  ${k.padEnd(36)} ${v.toFixed(3).padStart(7)} µs  [${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}]${ratio}`);
  }
}
await worker.terminate();
// A file of its own: the day's shared results file is rewritten whole by bench/results.mjs.
const file = join(ROOT, 'bench/results', `${new Date().toISOString().slice(0, 10)}-encode-node${process.version.slice(1)}.json`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), node: process.version, loadavg: loadavg(), ...raw }, null, 1)}\n`);
console.log(`\nresults: bench/results/${file.split('/').pop()}`);
