'use strict';
// Child of bench/hot-paths.mjs. HOT_MODE says what stands behind the @opentelemetry/api globals:
//   noop  nothing registered (the API's no-ops);
//   sdk   the SDK built here by hand, as an app would without us: a TracerProvider with a
//         BatchSpanProcessor and the OTLP http/protobuf exporter to the bench's sink, the same
//         AsyncLocalStorage context manager, a MeterProvider with a periodic reader;
//   ours, ours-sdk  whatever our register (--require, given by the parent) installed: the lazy
//         facades over our lean tracer, or (ours-sdk, OTEL_NODE_TRACER=sdk) over upstream's SDK.
// Times span start+end (a sampled root span), an unsampled span (child of a remote unsampled
// parent: the default parent-based sampler drops it), counter add on the main thread, and counter
// add in a worker thread (which sets up the same mode, or for ours, inherits the preload), in
// rounds; prints one JSON line of medians: ns per operation (wall), CPU ns per operation
// (process.cpuUsage, all threads) and bytes allocated on the JS heap per operation (v8.GCProfiler).
const api = require('@opentelemetry/api');
const { Worker, isMainThread, parentPort } = require('node:worker_threads');
const v8 = require('node:v8');

const N = Number(process.env.HOT_N || 20000);
const ROUNDS = Number(process.env.HOT_ROUNDS || 7);
const mode = process.env.HOT_MODE;

function setupSdk() {
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
  const { TracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
  const { MeterProvider, PeriodicExportingMetricReader, ConsoleMetricExporter } = require('@opentelemetry/sdk-metrics');
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const tp = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })] });
  api.trace.setGlobalTracerProvider(tp);
  // The reader never fires within a run (1 h): what is timed is the add itself.
  api.metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 3_600_000 })] }));
  return tp;
}
if (mode === 'sdk') setupSdk();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tick = () => new Promise((r) => setImmediate(r));

/** Bytes allocated on the JS heap between start and stop: what each GC found, plus what is left. */
function allocation() {
  const used = () => v8.getHeapStatistics().used_heap_size;
  const profiler = new v8.GCProfiler();
  const start = used();
  profiler.start();
  return () => {
    const end = used();
    const { statistics } = profiler.stop();
    let bytes = 0;
    let after = start;
    for (const gc of statistics) {
      bytes += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - after);
      after = gc.afterGC.heapStatistics.usedHeapSize;
    }
    return bytes + Math.max(0, end - after);
  };
}

/** ns per op (wall), CPU ns per op, bytes per op; yields to the event loop every 500 ops (exports run). */
async function time(op) {
  const alloc = allocation();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    op(i);
    if (i % 500 === 499) await tick();
  }
  const ns = Number(process.hrtime.bigint() - t0) / N;
  const c = process.cpuUsage(c0);
  return { ns, cpuNs: ((c.user + c.system) * 1000) / N, bytes: alloc() / N };
}

async function rounds(op) {
  await time(op); // warm-up: JIT, and for ours the SDK built by the first use
  const rs = [];
  for (let r = 0; r < ROUNDS; r++) rs.push(await time(op));
  return { ns: median(rs.map((r) => r.ns)), cpuNs: median(rs.map((r) => r.cpuNs)), bytes: median(rs.map((r) => r.bytes)) };
}

const ATTRS = { 'http.request.method': 'GET', 'http.response.status_code': 200 };

async function counterBench() {
  const counter = api.metrics.getMeter('bench').createCounter('bench.ops');
  return rounds((i) => counter.add(1, ATTRS));
}

if (isMainThread) {
  (async () => {
    const tracer = api.trace.getTracer('bench');
    const out = {};
    out.span = await rounds(() => tracer.startSpan('op', { attributes: ATTRS }).end());
    const unsampledParent = api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 0, isRemote: true });
    out.unsampled = await rounds(() => tracer.startSpan('op', { attributes: ATTRS }, unsampledParent).end());
    out.counter = await counterBench();
    const w = new Worker(__filename, { env: process.env });
    const [worker] = await Promise.all([new Promise((r) => w.once('message', r)), new Promise((r) => w.once('exit', r))]);
    out.workerCounter = worker.result;
    out.workerMeterProvider = worker.provider;
    await api.trace.getTracerProvider().forceFlush?.();
    console.log(JSON.stringify(out));
  })();
} else {
  (async () => {
    // A worker starts with fresh API globals: sdk mode builds its own SDK here, as an app would.
    if (mode === 'sdk') setupSdk();
    const result = await counterBench();
    // What stands behind the worker's global meter provider: the API's no-op, or an SDK.
    const provider = api.metrics.getMeterProvider().constructor.name;
    parentPort.postMessage({ result, provider });
  })();
}
