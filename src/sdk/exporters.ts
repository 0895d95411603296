import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { redactUrl } from '../config/kinds';
import type { Config } from '../config/parse';
import type { Values } from '../config/table';
import { withSdkWarningsMuted } from '../diag';
import { errorText, type Logger } from '../log';
import { useOwnTraceEncoder } from '../otlp/swap';
import { installExportErrorHandler } from './error-handler';
import { type Exporter, LazyExporter } from './lazy-exporter';
import { installResilientTransport } from './otlp-transport';
import { unrefAgentFactory } from './unref-agent';

export type Signal = 'traces' | 'metrics' | 'logs';
type Protocol = Values['OTEL_EXPORTER_OTLP_PROTOCOL'];

const PACKAGES: Record<Signal, Record<Protocol, string>> = {
  traces: {
    'http/protobuf': '@opentelemetry/exporter-trace-otlp-proto',
    'http/json': '@opentelemetry/exporter-trace-otlp-http',
    grpc: '@opentelemetry/exporter-trace-otlp-grpc',
  },
  metrics: {
    'http/protobuf': '@opentelemetry/exporter-metrics-otlp-proto',
    'http/json': '@opentelemetry/exporter-metrics-otlp-http',
    grpc: '@opentelemetry/exporter-metrics-otlp-grpc',
  },
  logs: {
    'http/protobuf': '@opentelemetry/exporter-logs-otlp-proto',
    'http/json': '@opentelemetry/exporter-logs-otlp-http',
    grpc: '@opentelemetry/exporter-logs-otlp-grpc',
  },
};

const EXPORT_CLASS: Record<Signal, string> = { traces: 'OTLPTraceExporter', metrics: 'OTLPMetricExporter', logs: 'OTLPLogExporter' };
const SIGNAL_PREFIX = { traces: 'OTEL_EXPORTER_OTLP_TRACES', metrics: 'OTEL_EXPORTER_OTLP_METRICS', logs: 'OTEL_EXPORTER_OTLP_LOGS' } as const;

export interface OtlpSettings {
  readonly protocol: Protocol;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMillis: number;
  readonly compression: 'none' | 'gzip';
  /** PEM file paths; read when the exporter is created. */
  readonly tls: { readonly ca?: string; readonly cert?: string; readonly key?: string };
}

/**
 * The SDK environment spec's per-signal rule: a signal variable wins over the general one; a
 * signal endpoint is used as is, the general one gets /v1/<signal> for http; signal headers are
 * added over the general ones.
 */
export function otlpSettings(config: Config, signal: Signal): OtlpSettings {
  const v = config.values;
  const p = SIGNAL_PREFIX[signal];
  const own = <K extends `${typeof p}_PROTOCOL` | `${typeof p}_COMPRESSION`>(k: K): boolean => config.sources[k] !== 'default';
  const protocol = own(`${p}_PROTOCOL`) ? v[`${p}_PROTOCOL`] : v.OTEL_EXPORTER_OTLP_PROTOCOL;
  const grpc = protocol === 'grpc';
  const base = v.OTEL_EXPORTER_OTLP_ENDPOINT ?? (grpc ? 'http://localhost:4317' : 'http://localhost:4318');
  const url = v[`${p}_ENDPOINT`] ?? (grpc ? base : `${base.replace(/\/+$/, '')}/v1/${signal}`);
  return {
    protocol,
    url,
    headers: { ...v.OTEL_EXPORTER_OTLP_HEADERS, ...v[`${p}_HEADERS`] },
    timeoutMillis: v[`${p}_TIMEOUT`] ?? v.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10000,
    compression: own(`${p}_COMPRESSION`) ? v[`${p}_COMPRESSION`] : v.OTEL_EXPORTER_OTLP_COMPRESSION,
    tls: definedOnly({
      ca: v[`${p}_CERTIFICATE`] ?? v.OTEL_EXPORTER_OTLP_CERTIFICATE,
      cert: v[`${p}_CLIENT_CERTIFICATE`] ?? v.OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
      key: v[`${p}_CLIENT_KEY`] ?? v.OTEL_EXPORTER_OTLP_CLIENT_KEY,
    }),
  };
}

function definedOnly<T extends Record<string, string | undefined>>(o: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: string };
}

interface Grpc {
  Metadata: new () => { set(key: string, value: string): void };
  credentials: { createSsl(ca?: Buffer | null, key?: Buffer | null, cert?: Buffer | null): unknown };
}

type ExporterCtor = new (options: Record<string, unknown>) => Exporter<unknown>;

/** The classic 4317/4318 mix-up, said once per process whichever signal meets it first. */
let mismatchSaid = false;
function mismatchWarning(s: OtlpSettings, label: string, log: Logger): () => void {
  return () => {
    if (mismatchSaid) return;
    mismatchSaid = true;
    log.warn(
      s.protocol === 'grpc'
        ? `${label}: the endpoint speaks HTTP/1.1, not gRPC (OTLP/HTTP is usually port 4318): set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, or use port 4317 for grpc`
        : `${label}: the endpoint speaks gRPC (usually port 4317): set OTEL_EXPORTER_OTLP_PROTOCOL=grpc, or use port 4318 for ${s.protocol}`,
    );
  };
}

/** Which serializer an OTLP trace exporter uses: ours (src/otlp), or upstream's otlp-transformer (the SDK tracer path). */
export type TraceEncoder = 'own' | 'upstream';

export interface OtlpOptions {
  /** Traces only; default 'own'. */
  readonly encoder?: TraceEncoder;
  /** Called when the exporter is created with our trace encoder in it (it then takes SpanBatch items). */
  readonly onOwnEncoder?: () => void;
}

function loadOtlp(s: OtlpSettings, signal: Signal, extra: Record<string, unknown>, opts: OtlpOptions, label: string, log: Logger): Exporter<unknown> {
  const pkg = PACKAGES[signal][s.protocol];
  const mod = require(pkg) as Record<string, unknown>;
  const Ctor = mod[EXPORT_CLASS[signal]] as ExporterCtor;
  const options: Record<string, unknown> = { url: s.url, timeoutMillis: s.timeoutMillis, compression: s.compression, ...extra };
  const pem = Object.fromEntries(Object.entries(s.tls).map(([k, path]) => [k, readFileSync(path)])) as { ca?: Buffer; cert?: Buffer; key?: Buffer };
  if (s.protocol === 'grpc') {
    // gRPC takes headers and TLS from the exporter's own copy of @grpc/grpc-js.
    const grpc = createRequire(require.resolve(pkg))('@grpc/grpc-js') as Grpc;
    if (Object.keys(s.headers).length > 0) {
      const md = new grpc.Metadata();
      for (const [k, val] of Object.entries(s.headers)) md.set(k, val);
      options.metadata = md;
    }
    if (Object.keys(pem).length > 0) options.credentials = grpc.credentials.createSsl(pem.ca ?? null, pem.key ?? null, pem.cert ?? null);
  } else {
    options.headers = { ...s.headers };
    options.httpAgentOptions = unrefAgentFactory(pem);
  }
  const exporter = withSdkWarningsMuted(() => new Ctor(options));
  installExportErrorHandler();
  if (!installResilientTransport(exporter, s.protocol === 'grpc', mismatchWarning(s, label, log))) log.debug(`${label}: upstream's transport is not where we expect it; using its own retries`);
  if (signal === 'traces' && (opts.encoder ?? 'own') === 'own') {
    if (useOwnTraceEncoder(exporter, s.protocol === 'http/json')) opts.onOwnEncoder?.();
    else log.debug(`${label}: upstream's serializer is not where we expect it; using it`);
  }
  return exporter;
}

/**
 * `extra` goes to the exporter's constructor as is (the metric exporter's temporality);
 * `options.encoder` picks the trace serializer (the SDK tracer path passes 'upstream').
 */
export function otlpExporter<I>(config: Config, signal: Signal, log: Logger, extra: Record<string, unknown> = {}, options: OtlpOptions = {}): LazyExporter<I> {
  const s = otlpSettings(config, signal);
  const label = `OTLP ${signal} exporter (${s.protocol}, ${redactUrl(s.url)})`;
  const v = config.values;
  // Exports still retrying hold at most one more queue's worth (metrics: two collections).
  const limits = signal === 'traces' ? { maxItems: v.OTEL_BSP_MAX_QUEUE_SIZE ?? 2048 } : signal === 'logs' ? { maxItems: v.OTEL_BLRP_MAX_QUEUE_SIZE ?? 2048 } : { maxBatches: 2 };
  return new LazyExporter<I>(label, () => loadOtlp(s, signal, extra, options, label, log) as Exporter<I>, log, signal, limits);
}

/** Exporter names for a signal, without "none"; "none" beside others is dropped with a warning. */
export function exporterNames(values: Values, signal: Signal, log: Logger): string[] {
  const name = `OTEL_${signal.toUpperCase()}_EXPORTER` as 'OTEL_TRACES_EXPORTER' | 'OTEL_METRICS_EXPORTER' | 'OTEL_LOGS_EXPORTER';
  const list = values[name];
  const rest = list.filter((n) => n !== 'none');
  if (rest.length > 0 && rest.length !== list.length) log.warn(`${name}="${list.join(',')}" mixes "none" with exporters; using "${rest.join(',')}"`);
  return rest;
}

export function zipkinExporter<I>(v: Values, log: Logger): LazyExporter<I> {
  const url = v.OTEL_EXPORTER_ZIPKIN_ENDPOINT ?? 'http://localhost:9411/api/v2/spans';
  return new LazyExporter<I>(
    `Zipkin exporter (${redactUrl(url)})`,
    () => {
      const z = require('@opentelemetry/exporter-zipkin') as typeof import('@opentelemetry/exporter-zipkin');
      return withSdkWarningsMuted(() => new z.ZipkinExporter({ url })) as unknown as Exporter<I>;
    },
    log,
    'traces',
  );
}
