import { createRequire } from 'node:module';
import type { Values } from '../config/table';
import { withSdkWarningsMuted } from '../diag';
import type { Logger } from '../log';
import { type Exporter, LazyExporter } from './lazy-exporter';

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
const SIGNAL_ENDPOINT = {
  traces: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  metrics: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
  logs: 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT',
} as const;

/** The SDK environment spec: a signal endpoint is used as is; the base endpoint gets /v1/<signal> for http. */
export function otlpUrl(values: Values, signal: Signal): string {
  const specific = values[SIGNAL_ENDPOINT[signal]];
  if (specific !== undefined) return specific;
  const grpc = values.OTEL_EXPORTER_OTLP_PROTOCOL === 'grpc';
  const base = values.OTEL_EXPORTER_OTLP_ENDPOINT ?? (grpc ? 'http://localhost:4317' : 'http://localhost:4318');
  if (grpc) return base;
  return `${base.replace(/\/+$/, '')}/v1/${signal}`;
}

interface GrpcMetadata {
  set(key: string, value: string): void;
}

type ExporterCtor = new (options: Record<string, unknown>) => Exporter<unknown>;

function loadOtlp(values: Values, signal: Signal): Exporter<unknown> {
  const protocol = values.OTEL_EXPORTER_OTLP_PROTOCOL;
  const pkg = PACKAGES[signal][protocol];
  const mod = require(pkg) as Record<string, unknown>;
  const Ctor = mod[EXPORT_CLASS[signal]] as ExporterCtor;
  const options: Record<string, unknown> = { url: otlpUrl(values, signal) };
  const headers = values.OTEL_EXPORTER_OTLP_HEADERS;
  if (protocol === 'grpc') {
    if (Object.keys(headers).length > 0) {
      // gRPC takes headers as Metadata from the exporter's own copy of @grpc/grpc-js.
      const grpc = createRequire(require.resolve(pkg))('@grpc/grpc-js') as { Metadata: new () => GrpcMetadata };
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(headers)) md.set(k, v);
      options.metadata = md;
    }
  } else {
    options.headers = { ...headers };
  }
  return withSdkWarningsMuted(() => new Ctor(options));
}

export function otlpExporter<I>(values: Values, signal: Signal, log: Logger): LazyExporter<I> {
  const label = `OTLP ${signal} exporter (${values.OTEL_EXPORTER_OTLP_PROTOCOL}, ${otlpUrl(values, signal)})`;
  return new LazyExporter<I>(label, () => loadOtlp(values, signal) as Exporter<I>, log);
}

/** Exporter names for a signal, without "none"; "none" beside others is dropped with a warning. */
export function exporterNames(values: Values, signal: Signal, log: Logger): string[] {
  const name = `OTEL_${signal.toUpperCase()}_EXPORTER` as 'OTEL_TRACES_EXPORTER' | 'OTEL_METRICS_EXPORTER' | 'OTEL_LOGS_EXPORTER';
  const list = values[name];
  const rest = list.filter((n) => n !== 'none');
  if (rest.length > 0 && rest.length !== list.length) log.warn(`${name}="${list.join(',')}" mixes "none" with exporters; using "${rest.join(',')}"`);
  return rest;
}
