import { booleanVar, enumVar, fileVar, itemsVar, keyValueVar, listVar, msVar, numberVar, stringVar, urlVar } from './kinds';
import { MULTIPROCESS_VARS } from './table-multiprocess';
import type { VarSpec } from './types';

const EXPORTERS = ['otlp', 'console', 'none'] as const;
/** Package managers, their helpers and our own CLI: they inherit NODE_OPTIONS but are not the app. */
const TOOLING_PROCESSES = ['npm', 'npx', 'npm-cli', 'npx-cli', 'pnpm', 'pnpx', 'yarn', 'yarnpkg', 'corepack', 'node-gyp', 'otel-instrument'];

const PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;

/** The per-signal OTLP variables; each wins over its OTEL_EXPORTER_OTLP_* counterpart. */
function otlpSignalVars<const S extends 'TRACES' | 'METRICS' | 'LOGS'>(signal: S, what: string) {
  const p = `OTEL_EXPORTER_OTLP_${signal}` as const;
  return {
    [`${p}_ENDPOINT`]: urlVar({ group: 'otlp', unset: `OTEL_EXPORTER_OTLP_ENDPOINT + /v1/${signal.toLowerCase()}`, description: `Full URL for ${what}; used as is (no path appended). Wins over OTEL_EXPORTER_OTLP_ENDPOINT.` }),
    [`${p}_PROTOCOL`]: enumVar({ group: 'otlp', allowed: PROTOCOLS, default: 'http/protobuf', inherits: 'OTEL_EXPORTER_OTLP_PROTOCOL', description: `OTLP transport for ${what}; wins over OTEL_EXPORTER_OTLP_PROTOCOL.` }),
    [`${p}_HEADERS`]: keyValueVar({ group: 'otlp', sensitive: true, description: `Headers for ${what} exports, added over OTEL_EXPORTER_OTLP_HEADERS.` }),
    [`${p}_TIMEOUT`]: msVar({ group: 'otlp', min: 1, unset: 'OTEL_EXPORTER_OTLP_TIMEOUT', description: `Milliseconds a ${what} export may take; wins over OTEL_EXPORTER_OTLP_TIMEOUT.` }),
    [`${p}_COMPRESSION`]: enumVar({ group: 'otlp', allowed: ['none', 'gzip'], default: 'none', inherits: 'OTEL_EXPORTER_OTLP_COMPRESSION', description: `Compression for ${what}; wins over OTEL_EXPORTER_OTLP_COMPRESSION.` }),
    [`${p}_CERTIFICATE`]: fileVar({ group: 'otlp', unset: 'OTEL_EXPORTER_OTLP_CERTIFICATE', description: `CA certificate (PEM) to trust for ${what}; wins over OTEL_EXPORTER_OTLP_CERTIFICATE.` }),
    [`${p}_CLIENT_CERTIFICATE`]: fileVar({ group: 'otlp', unset: 'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE', description: `Client certificate (PEM) for ${what}, for mutual TLS.` }),
    [`${p}_CLIENT_KEY`]: fileVar({ group: 'otlp', unset: 'OTEL_EXPORTER_OTLP_CLIENT_KEY', description: `Client private key (PEM) for ${what}, for mutual TLS.` }),
  } as {
    [K in `${typeof p}_CERTIFICATE` | `${typeof p}_CLIENT_CERTIFICATE` | `${typeof p}_CLIENT_KEY`]: VarSpec<string | undefined>;
  } & {
    [K in `${typeof p}_ENDPOINT`]: VarSpec<string | undefined>;
  } & { [K in `${typeof p}_PROTOCOL`]: VarSpec<(typeof PROTOCOLS)[number]> } & { [K in `${typeof p}_HEADERS`]: VarSpec<Readonly<Record<string, string>>> } & {
    [K in `${typeof p}_TIMEOUT`]: VarSpec<number | undefined>;
  } & { [K in `${typeof p}_COMPRESSION`]: VarSpec<'none' | 'gzip'> };
}

/**
 * Every environment variable otel-autoinstrument reads, but for the per-instrumentation
 * OTEL_NODE_INSTRUMENTATION_* options, whose names come from the catalog
 * (instrumentation-options.ts). Parser, flags, docs/configuration.md and the redacted dump all
 * come from this table; otel-instrument otherwise only hands the environment on to the command
 * it runs, and extends Node's own NODE_OPTIONS.
 */
export const TABLE = {
  OTEL_SDK_DISABLED: booleanVar({ group: 'general', default: false, description: 'Disable the SDK entirely: nothing is patched, nothing is exported.' }),
  OTEL_LOG_LEVEL: enumVar({
    group: 'general',
    allowed: ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'],
    default: 'info',
    description: "Level of otel-autoinstrument's and the SDK's own diagnostics on stderr.",
  }),
  OTEL_CONFIG_FILE: stringVar({
    group: 'general',
    description:
      'A declarative configuration file (YAML, file_format 1.x, ${VAR} substitution; supported keys in docs/configuration-file.md). The environment and flags win over it. A file that does not parse leaves the app uninstrumented.',
  }),
  OTEL_EXPERIMENTAL_CONFIG_FILE: stringVar({ group: 'general', description: 'The former name of OTEL_CONFIG_FILE, read when that one is unset.' }),
  OTEL_SERVICE_NAME: stringVar({ group: 'resource', description: 'Sets service.name; wins over service.name in OTEL_RESOURCE_ATTRIBUTES.' }),
  OTEL_RESOURCE_ATTRIBUTES: keyValueVar({ group: 'resource', description: 'Resource attributes, key=value pairs separated by commas, values percent-encoded.' }),
  OTEL_NODE_RESOURCE_DETECTORS: listVar({
    group: 'resource',
    standard: false,
    allowed: ['all', 'none', 'env', 'host', 'os', 'process', 'serviceinstance', 'container', 'aws', 'azure', 'gcp', 'alibaba'],
    default: ['all'],
    description:
      'Resource detectors. "all" = the local ones (env, host, os, process, serviceinstance, container) plus the cloud ones that read only the environment, when the environment shows that cloud (AWS Lambda, Azure App Service, Azure Functions). aws, azure, gcp and alibaba run every detector of that cloud, including those that call its metadata address: only when named here.',
  }),
  OTEL_TRACES_EXPORTER: listVar({ group: 'exporters', allowed: [...EXPORTERS, 'zipkin'], default: ['otlp'], description: 'Span exporters; "none" turns tracing export off.' }),
  OTEL_METRICS_EXPORTER: listVar({
    group: 'exporters',
    allowed: [...EXPORTERS, 'prometheus'],
    default: ['otlp'],
    description: 'Metric exporters; "prometheus" serves a scrape endpoint; "none" turns metrics off.',
  }),
  OTEL_LOGS_EXPORTER: listVar({ group: 'exporters', allowed: EXPORTERS, default: ['otlp'], description: 'Log record exporters; "none" turns logs off.' }),
  OTEL_EXPORTER_PROMETHEUS_HOST: stringVar({ group: 'exporters', default: 'localhost', description: 'Address the Prometheus scrape endpoint listens on.' }),
  OTEL_EXPORTER_PROMETHEUS_PORT: numberVar({ group: 'exporters', default: 9464, min: 0, max: 65535, description: 'Port of the Prometheus scrape endpoint (path /metrics).' }),
  OTEL_EXPORTER_ZIPKIN_ENDPOINT: urlVar({ group: 'exporters', default: 'http://localhost:9411/api/v2/spans', description: 'Zipkin collector URL for the zipkin span exporter.' }),
  OTEL_EXPORTER_ZIPKIN_TIMEOUT: msVar({ group: 'exporters', default: 10000, min: 1, description: 'Milliseconds a Zipkin export may take.' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: urlVar({
    group: 'otlp',
    unset: 'the default http://localhost:4318 (4317 for grpc)',
    description: 'Base URL of the OTLP receiver: http://localhost:4318 for http/*, http://localhost:4317 for grpc. Signal paths (/v1/traces, ...) are appended for http/*.',
  }),
  OTEL_EXPORTER_OTLP_PROTOCOL: enumVar({
    group: 'otlp',
    allowed: PROTOCOLS,
    default: 'http/protobuf',
    description: 'OTLP transport. The exporter package for the chosen protocol is loaded only when first used.',
  }),
  OTEL_EXPORTER_OTLP_HEADERS: keyValueVar({ group: 'otlp', sensitive: true, description: 'Headers sent with every OTLP export, key=value pairs, values percent-encoded.' }),
  ...otlpSignalVars('TRACES', 'spans'),
  ...otlpSignalVars('METRICS', 'metrics'),
  ...otlpSignalVars('LOGS', 'log records'),
  OTEL_EXPORTER_OTLP_TIMEOUT: msVar({ group: 'otlp', default: 10000, min: 1, description: 'Milliseconds an OTLP export may take, retries included.' }),
  OTEL_EXPORTER_OTLP_COMPRESSION: enumVar({ group: 'otlp', allowed: ['none', 'gzip'], default: 'none', description: 'Compression of OTLP request bodies.' }),
  OTEL_EXPORTER_OTLP_CERTIFICATE: fileVar({ group: 'otlp', unset: 'the system CAs alone', description: 'CA certificate (PEM) to trust for the OTLP endpoint, besides the system ones.' }),
  OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: fileVar({ group: 'otlp', unset: 'no client certificate', description: 'Client certificate (PEM) for mutual TLS with the OTLP endpoint.' }),
  OTEL_EXPORTER_OTLP_CLIENT_KEY: fileVar({ group: 'otlp', unset: 'no client key', description: 'Client private key (PEM) for mutual TLS with the OTLP endpoint.' }),
  OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: enumVar({
    group: 'otlp',
    allowed: ['cumulative', 'delta', 'lowmemory'],
    default: 'cumulative',
    description: 'Aggregation temporality the OTLP metric exporter asks for.',
  }),
  OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: enumVar({
    group: 'otlp',
    allowed: ['explicit_bucket_histogram', 'base2_exponential_bucket_histogram'],
    default: 'explicit_bucket_histogram',
    description: 'Aggregation the OTLP metric exporter uses for histograms.',
  }),
  OTEL_BSP_SCHEDULE_DELAY: msVar({ group: 'processors', default: 5000, min: 0, description: 'Milliseconds between two exports of the batch span processor.' }),
  OTEL_BSP_EXPORT_TIMEOUT: msVar({ group: 'processors', default: 30000, min: 1, description: 'Milliseconds one span export may take.' }),
  OTEL_BSP_MAX_QUEUE_SIZE: itemsVar({ group: 'processors', default: 2048, description: 'Spans kept waiting for export; more are dropped.' }),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: itemsVar({ group: 'processors', default: 512, description: 'Spans per export; at most OTEL_BSP_MAX_QUEUE_SIZE.' }),
  OTEL_NODE_TRACES_ENCODE_AT_END: booleanVar({
    group: 'processors',
    standard: false,
    default: true,
    description:
      'With our tracer and the OTLP traces exporter, each span is encoded to OTLP bytes when it ends and the batch queue holds bytes, not span objects (less memory and GC under load). false: upstream\'s BatchSpanProcessor, which keeps the span objects until export.',
  }),
  OTEL_BLRP_SCHEDULE_DELAY: msVar({ group: 'processors', default: 1000, min: 0, description: 'Milliseconds between two exports of the batch log record processor.' }),
  OTEL_BLRP_EXPORT_TIMEOUT: msVar({ group: 'processors', default: 30000, min: 1, description: 'Milliseconds one log record export may take.' }),
  OTEL_BLRP_MAX_QUEUE_SIZE: itemsVar({ group: 'processors', default: 2048, description: 'Log records kept waiting for export; more are dropped.' }),
  OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: itemsVar({ group: 'processors', default: 512, description: 'Log records per export; at most OTEL_BLRP_MAX_QUEUE_SIZE.' }),
  OTEL_METRIC_EXPORT_INTERVAL: msVar({ group: 'processors', default: 60000, min: 1, description: 'Milliseconds between two metric collections and exports.' }),
  OTEL_METRIC_EXPORT_TIMEOUT: msVar({ group: 'processors', default: 30000, min: 1, description: 'Milliseconds one metric export may take.' }),
  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: numberVar({ group: 'limits', min: 0, unset: 'no limit', description: 'Longest attribute value (strings are truncated); unset = no limit.' }),
  OTEL_ATTRIBUTE_COUNT_LIMIT: numberVar({ group: 'limits', default: 128, min: 0, description: 'Most attributes per span, event, link or log record.' }),
  OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: numberVar({ group: 'limits', min: 0, unset: 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', description: 'Longest span attribute value; wins over OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT.' }),
  OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: numberVar({ group: 'limits', min: 0, unset: 'OTEL_ATTRIBUTE_COUNT_LIMIT', description: 'Most attributes per span; wins over OTEL_ATTRIBUTE_COUNT_LIMIT (128).' }),
  OTEL_SPAN_EVENT_COUNT_LIMIT: numberVar({ group: 'limits', default: 128, min: 0, description: 'Most events per span.' }),
  OTEL_SPAN_LINK_COUNT_LIMIT: numberVar({ group: 'limits', default: 128, min: 0, description: 'Most links per span.' }),
  OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: numberVar({ group: 'limits', default: 128, min: 0, description: 'Most attributes per span event.' }),
  OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: numberVar({ group: 'limits', default: 128, min: 0, description: 'Most attributes per span link.' }),
  OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT: numberVar({ group: 'limits', min: 0, unset: 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', description: 'Longest log record attribute value; wins over OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT.' }),
  OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT: numberVar({ group: 'limits', min: 0, unset: 'OTEL_ATTRIBUTE_COUNT_LIMIT', description: 'Most attributes per log record; wins over OTEL_ATTRIBUTE_COUNT_LIMIT (128).' }),
  OTEL_TRACES_SAMPLER: enumVar({
    group: 'sampling',
    allowed: ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'],
    default: 'parentbased_always_on',
    description: 'Sampler for new traces.',
  }),
  OTEL_TRACES_SAMPLER_ARG: numberVar({ group: 'sampling', min: 0, max: 1, integer: false, unset: '1.0', description: 'Ratio for traceidratio samplers (default 1.0).' }),
  OTEL_NODE_TRACER: enumVar({
    group: 'sampling',
    standard: false,
    allowed: ['lean', 'sdk'],
    default: 'lean',
    description: "Which tracer records spans: `lean` (ours: the sampler decides first, a recorded span is one compact record) or `sdk` (upstream's SDK TracerProvider, as before).",
  }),
  OTEL_PROPAGATORS: listVar({
    group: 'propagation',
    allowed: ['tracecontext', 'baggage', 'b3', 'b3multi', 'none'],
    default: ['tracecontext', 'baggage'],
    description: 'Context propagators, applied in order.',
  }),
  // Names are checked after plugin discovery, against the catalog and the plugins' names.
  OTEL_NODE_ENABLED_INSTRUMENTATIONS: listVar({
    group: 'instrumentations',
    standard: false,
    default: [],
    description: 'Only these instrumentations (short names, e.g. http,express,pg, plugins\' names too); unset = every one that is on by default.',
  }),
  OTEL_NODE_DISABLED_INSTRUMENTATIONS: listVar({
    group: 'instrumentations',
    standard: false,
    default: [],
    description: 'Instrumentations to turn off (short names); wins over OTEL_NODE_ENABLED_INSTRUMENTATIONS.',
  }),
  OTEL_NODE_EXPRESS_ROUTER_SPANS: booleanVar({
    group: 'instrumentations',
    standard: false,
    default: false,
    description:
      "Under Express 5, also load the router instrumentation for the `router` package express loads, as upstream does: it then records every express layer a second time (see Instrumentation names below). Off: express's spans alone, one span set per request; an app's own `router` is traced either way.",
  }),
  OTEL_NODE_HTTP_SERVER_INSTRUMENTATION: enumVar({
    group: 'instrumentations',
    standard: false,
    allowed: ['lean', 'upstream'],
    default: 'lean',
    description:
      "Who traces incoming node:http(s) requests when the http instrumentation is on: `lean` (ours, on diagnostics_channel: the same server span and duration metric as instrumentation-http at about half its per-request cost; outgoing requests stay instrumentation-http's) or `upstream` (instrumentation-http for both, as before). `lean` gives way to `upstream` by itself when the http instrumentation's config has a key only instrumentation-http reads, or the context manager cannot attach a context (docs/http-server.md).",
  }),
  OTEL_NODE_EXPRESS_INSTRUMENTATION: enumVar({
    group: 'instrumentations',
    standard: false,
    allowed: ['lean', 'upstream'],
    default: 'lean',
    description:
      "How the express instrumentation traces each request's layers: `lean` (instrumentation-express with our per-request layer patch: the same spans, names, attributes and scope at about half of its per-request allocation and 60% of its CPU) or `upstream` (instrumentation-express as it is). `lean` gives way to `upstream` by itself when the express instrumentation's config has a key only instrumentation-express reads (docs/express.md).",
  }),
  OTEL_NODE_IMPORTED_COMMONJS: enumVar({
    group: 'instrumentations',
    standard: false,
    allowed: ['require', 'wrap'],
    default: 'require',
    description:
      "How a CommonJS package that an ES module imports (`import express from 'express'`) is instrumented, where Node has synchronous module hooks: `require` (require-in-the-middle patches it when Node loads it, as for a require() of it: about 30 ms CPU and 3 MiB less than `wrap` in an Express start under --import) or `wrap` (import-in-the-middle wraps it in a generated ES module). `require` leaves to `wrap` a package that is not under node_modules/, whose main file require() would not load, that may be ES syntax, or when someone else's --import/--loader hooks are in place (docs/api.md, What gets patched).",
  }),
  OTEL_NODE_DISABLED_PLUGINS: listVar({
    group: 'instrumentations',
    standard: false,
    lowercase: false,
    default: [],
    description: 'Packages whose "otel" field is ignored (see docs/plugins.md); "all" turns plugin discovery off.',
  }),
  OTEL_NODE_DISTRO: stringVar({
    group: 'instrumentations',
    standard: false,
    description: 'The distro to use when several installed packages declare one; "none" uses none.',
  }),
  OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE: listVar({
    group: 'instrumentations',
    standard: false,
    lowercase: false,
    default: [],
    description:
      'Exported functions to trace, each call a span and a duration/count observation (docs/async-tracing.md): `./path/file.js:fn` (relative to the working directory), `pkg:fn` (a package\'s export) or `fn` (that export of any of the app\'s own modules, not node_modules).',
  }),
  OTEL_NODE_ASYNC_WORKER_TRACE_ENABLED: booleanVar({
    group: 'instrumentations',
    standard: false,
    default: false,
    description: 'Trace worker threads: each `new Worker()` a span until it exits, spans started in the worker join it and are exported by the main thread.',
  }),
  OTEL_NODE_ASYNC_TIMERS_TRACE_ENABLED: booleanVar({
    group: 'instrumentations',
    standard: false,
    default: false,
    description: 'Trace every setTimeout, setInterval and setImmediate callback run (unref\'d timers excepted), named by the callback.',
  }),
  OTEL_NODE_EXCLUDE_PROCESSES: listVar({
    group: 'general',
    standard: false,
    lowercase: false,
    default: TOOLING_PROCESSES,
    description:
      'Node processes that start no SDK, by script name (file name without extension, or the package it runs from). Package managers and build tools inherit NODE_OPTIONS, so they are excluded by default.',
  }),
  OTEL_NODE_INCLUDE_PROCESSES: listVar({
    group: 'general',
    standard: false,
    lowercase: false,
    default: [],
    description: 'When set, only Node processes with these script names start an SDK (wins over OTEL_NODE_EXCLUDE_PROCESSES).',
  }),
  OTEL_NODE_SELF_METRICS_ENABLED: booleanVar({
    group: 'general',
    standard: false,
    default: false,
    description:
      "otel-autoinstrument's own metrics (docs/self-metrics.md): telemetry exported, failed by error.type and dropped, export duration, instrumentations loaded. Off by default: they add series to every process; only when metrics are exported.",
  }),
  OTEL_NODE_DOCTOR_REPORT: stringVar({
    group: 'general',
    standard: false,
    description:
      'Set by `otel-instrument doctor` for the command it runs: a file the register hook writes its startup report (instrumentations applied and skipped, export counts) to, while running and at exit (docs/doctor.md).',
  }),
  OTEL_NODE_WARMUP_DELAY: msVar({
    group: 'general',
    standard: false,
    default: 1000,
    min: 1,
    description:
      "Milliseconds after start when the SDK parts still lazy (the tracer and metrics SDKs, the API's globals) are built anyway, so that a server's first request does not pay for them and runtime metrics start being collected. A process that ends sooner and recorded nothing never builds them. The timer never keeps the process alive.",
  }),
  OTEL_NODE_COMPILE_CACHE: stringVar({
    group: 'general',
    standard: false,
    description:
      "Directory for Node's compile cache (V8 code cache), turned on by the register hook (or start(), for what loads after it) so that later starts skip compiling the instrumentations' and the app's code: an absolute path (a relative one turns it off, with a debug line), or `none` to turn it off. Default: a directory of the user's own under the OS temp dir (ignored unless it belongs to that user and no one else can write it), which also keeps the register hook's own code cache (only when this and NODE_COMPILE_CACHE are unset). NODE_COMPILE_CACHE, when set, wins.",
  }),
  OTEL_NODE_UPSTREAM_BUNDLE: booleanVar({
    group: 'general',
    standard: false,
    default: true,
    description:
      "Serve @opentelemetry/api, core, semantic-conventions and instrumentation to the instrumentation packages and our other dependencies from one prebuilt file of ours (dist/vendor.js) instead of ~100 separate files, where Node would resolve the very same copy and version (docs/performance.md, Startup). The app's own require() of them is never served from it. `false`: every copy comes from Node's require(), as before.",
  }),
  OTEL_NODE_RUNTIME_METRICS: listVar({
    group: 'runtime',
    standard: false,
    allowed: ['all', 'none', 'gc', 'heap', 'eventloop', 'resources'],
    default: ['all'],
    description:
      'Runtime metrics under the semantic conventions\' v8js.* and nodejs.* names (docs/runtime-metrics.md): gc (every GC\'s duration), heap (per heap space), eventloop (delay, utilization, time, and the autoinstrument.eventloop.delay histogram), resources (active handles). Only when metrics are exported.',
  }),
  OTEL_NODE_RUNTIME_METRICS_EXTRAS: listVar({
    group: 'runtime',
    standard: false,
    allowed: ['none', 'all', 'gc_time', 'gc_reclaimed'],
    default: ['none'],
    description: 'Opt-in runtime metrics of our own: gc_time (autoinstrument.gc.time, cumulative GC seconds kept in integer nanoseconds), gc_reclaimed (autoinstrument.gc.reclaimed, heap bytes freed per GC, from V8\'s GC profiler).',
  }),
  OTEL_NODE_RUNTIME_METRICS_EVENTLOOP_RESOLUTION: numberVar({
    group: 'runtime',
    standard: false,
    min: 1,
    max: 1000,
    default: 10,
    description: 'Milliseconds between event-loop delay samples; smaller sees shorter stalls and costs more wake-ups.',
  }),
  OTEL_NODE_RUNTIME_METRICS_WINDOW: msVar({
    group: 'runtime',
    standard: false,
    min: 100,
    unset: 'OTEL_METRIC_EXPORT_INTERVAL',
    description:
      'Milliseconds each window of the windowed gauges lasts (nodejs.eventloop.delay.*, nodejs.eventloop.utilization); every metric reader reports the last closed window. Default: OTEL_METRIC_EXPORT_INTERVAL.',
  }),
  ...MULTIPROCESS_VARS,
  AWS_LAMBDA_FUNCTION_NAME: stringVar({
    group: 'platform',
    standard: false,
    description: 'Set by AWS Lambda itself; when present the aws-lambda instrumentation is loaded at startup (it patches the handler, not a module the app requires) and the Lambda resource detector runs.',
  }),
  WEBSITE_SITE_NAME: stringVar({ group: 'platform', standard: false, description: 'Set by Azure App Service; when present its resource detector (environment only) runs.' }),
  FUNCTIONS_WORKER_RUNTIME: stringVar({ group: 'platform', standard: false, description: 'Set by Azure Functions; when present its resource detector (environment only) runs.' }),
} as const satisfies Record<string, VarSpec<unknown>>;

/**
 * Pairs where the first may not exceed the second: the spec's batch <= queue, and a metric
 * export that must end before the next one starts. A value set past it gets one warning and the
 * second's value; a default past it (a small queue, a short interval) follows silently.
 */
export const AT_MOST = [
  ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'OTEL_BSP_MAX_QUEUE_SIZE'],
  ['OTEL_BLRP_MAX_EXPORT_BATCH_SIZE', 'OTEL_BLRP_MAX_QUEUE_SIZE'],
  ['OTEL_METRIC_EXPORT_TIMEOUT', 'OTEL_METRIC_EXPORT_INTERVAL'],
] as const;

export type Table = typeof TABLE;
export type VarName = keyof Table;
type ValueOf<S> = S extends VarSpec<infer T> ? T : never;
/** The parsed configuration: one field per variable, typed by its spec. */
export type Values = { readonly [K in VarName]: ValueOf<Table[K]> };
export const VAR_NAMES = Object.keys(TABLE) as VarName[];
