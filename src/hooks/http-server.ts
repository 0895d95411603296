// The `http` catalog entry, built two ways (issue 19). `lean` (the default): incoming requests are
// traced by our server instrumentation on diagnostics_channel (src/instrumentations/http-server),
// outgoing ones by instrumentation-http loaded with disableIncomingRequestInstrumentation, so it
// no longer wraps Server.prototype.emit. `upstream` (OTEL_NODE_HTTP_SERVER_INSTRUMENTATION), or
// whenever ours cannot give the same spans: instrumentation-http for both, as before.
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import type { HttpServerInstrumentationConfig } from '../instrumentations/http-server';
import type { LoadedInstrumentation, Providers } from './lazy-instrumentations';

export type HttpServerMode = 'lean' | 'upstream';

/**
 * instrumentation-http's config keys and who reads them once split: ours (server side), upstream's
 * (client side), or both (the hooks get a ClientRequest or an IncomingMessage, each side its own).
 * Any other key (an option of a later instrumentation-http) sends the whole entry to upstream's,
 * which is the only one that knows what it means.
 */
const SERVER_KEYS = new Set(['ignoreIncomingRequestHook', 'requireParentforIncomingSpans', 'startIncomingSpanHook', 'redactedQueryParamsServer']);
const CLIENT_KEYS = new Set(['ignoreOutgoingRequestHook', 'startOutgoingSpanHook', 'requireParentforOutgoingSpans', 'disableOutgoingRequestInstrumentation', 'redactedQueryParams']);
const SHARED_KEYS = new Set(['enabled', 'requestHook', 'responseHook', 'applyCustomAttributesOnSpan', 'headersToSpanAttributes', 'enableSyntheticSourceDetection']);

/** Why ours cannot take the server side with this config, or undefined when it can. */
export function upstreamOnlyReason(config: Readonly<Record<string, unknown>>): string | undefined {
  const unknown = Object.keys(config).filter((k) => !SERVER_KEYS.has(k) && !CLIENT_KEYS.has(k) && !SHARED_KEYS.has(k) && k !== 'disableIncomingRequestInstrumentation');
  if (unknown.length > 0) return `its config has ${unknown.map((k) => `"${k}"`).join(', ')}, which only instrumentation-http reads`;
  return undefined;
}

/** What describes the http entry in the startup report and the doctor. */
export interface HttpBuild {
  readonly instance: LoadedInstrumentation;
  /** Upstream's instance, whose module definitions are guarded and whose patches are reported. */
  readonly upstream: LoadedInstrumentation;
  readonly detail: string;
}

type Ctor = new (config: object) => LoadedInstrumentation;

/**
 * Builds the http entry. `config` is the merged one (catalog, environment, start()), with our
 * ignoreIncomingRequestHook already in it. When the global context manager cannot attach a
 * context, upstream's takes both sides.
 */
export function buildHttp(Upstream: Ctor, config: Readonly<Record<string, unknown>>, mode: HttpServerMode, providers: Providers, loadServer: () => typeof import('../instrumentations/http-server')): HttpBuild {
  const whole = (detail: string): HttpBuild => {
    const upstream = new Upstream(config);
    return { instance: upstream, upstream, detail };
  };
  if (config.disableIncomingRequestInstrumentation === true) return whole('incoming requests not traced (disableIncomingRequestInstrumentation)');
  if (mode === 'upstream') return whole('incoming requests: instrumentation-http (OTEL_NODE_HTTP_SERVER_INSTRUMENTATION=upstream)');
  const why = upstreamOnlyReason(config);
  if (why !== undefined) return whole(`incoming requests: instrumentation-http, because ${why}`);
  // The providers first: the tracer's builds the global context manager attach() needs.
  const tracerProvider = providers.tracer();
  const meterProvider = providers.meter();
  const lean = loadServer();
  if (!lean.canAttach()) return whole('incoming requests: instrumentation-http, because the global context manager has no attach()');
  const serverConfig: HttpServerInstrumentationConfig = { bindEmitters: 'prototype' };
  for (const [k, v] of Object.entries(config)) if (k !== 'enabled' && (SERVER_KEYS.has(k) || SHARED_KEYS.has(k))) (serverConfig as Record<string, unknown>)[k] = v;
  const upstream = new Upstream({ ...config, disableIncomingRequestInstrumentation: true });
  const server = new lean.HttpServerInstrumentation(serverConfig, undefined, { name: upstream.instrumentationName, version: upstream.instrumentationVersion });
  server.setTracerProvider(tracerProvider);
  server.setMeterProvider(meterProvider);
  server.enable();
  return { instance: new HttpPair(upstream, server), upstream, detail: 'incoming requests: diagnostics_channel http.server.request.start (ours); outgoing: instrumentation-http' };
}

/** Both halves as one instrumentation for LazyInstrumentations: upstream's name and version. */
class HttpPair implements LoadedInstrumentation {
  constructor(
    private readonly client: LoadedInstrumentation,
    private readonly server: { enable(): boolean; disable(): void; setTracerProvider(p: TracerProvider): void; setMeterProvider(p: MeterProvider): void },
  ) {}

  get instrumentationName(): string {
    return this.client.instrumentationName;
  }

  get instrumentationVersion(): string {
    return this.client.instrumentationVersion;
  }

  enable(): void {
    this.client.enable();
    this.server.enable();
  }

  disable(): void {
    this.client.disable();
    this.server.disable();
  }

  isEnabled(): boolean {
    return this.client.isEnabled();
  }

  setTracerProvider(p: TracerProvider): void {
    this.client.setTracerProvider(p);
    this.server.setTracerProvider(p);
  }

  setMeterProvider(p: MeterProvider): void {
    this.client.setMeterProvider(p);
    this.server.setMeterProvider(p);
  }
}
