import type { Context, Logger as ApiLogger, LoggerOptions, LoggerProvider, Meter, MeterOptions, MeterProvider, TextMapGetter, TextMapPropagator, TextMapSetter, TracerProvider } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { Values } from '../config/table';
import { errorText, type Logger } from '../log';
import { queueDropCounter, recordDropped, recordExported, recordFailed, recordUnknown } from './export-stats';
import { ExitSend, canSendAtExit, countSpans, queuedItems } from './exit-send';
import { EncodingSpanProcessor, type SpanItems } from './encoding-processor';
import { type LazyExporter, settleAllExports } from './lazy-exporter';
import { exporterNames, otlpExporter, type OtlpSettings, otlpSettings, zipkinExporter } from './exporters';
import type { SpanBatch } from '../otlp/span-batch';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { prometheusReader } from './prometheus';
import type { Include, Multiprocess } from '../multiprocess';
import { batchOptions, noopMeter, spanLimits, temporalitySelector } from './sdk-options';
import { buildPropagator } from './propagator';
import { buildResource } from './resource';
import { buildSampler } from './sampler';
import { LazyMeter } from './lazy-meter';
import { emptyAdditions, runConfigurators, type SdkAdditions } from '../plugins/configurators';
import type { ConfiguratorDescriptor, DistroDescriptor } from '../plugins/types';
import type { Config } from '../config/parse';
import type { RuntimeMetrics } from '../runtime';
import type { SelfMetrics } from './self-metrics';
import { SCOPE as RUNTIME_SCOPE } from '../runtime/names';
import { lazyTracerProvider } from '../trace/facade';

type Api = typeof import('@opentelemetry/api');
type BatchConfig = Omit<ConstructorParameters<typeof import('@opentelemetry/sdk-trace').BatchSpanProcessor>[0], 'exporter'>;

const VERSION = (require('../../package.json') as { version: string }).version;

interface Flushable {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Builds on first call, remembers the result; a failed build is reported once and stays undefined. */
function once<T>(what: string, log: Logger, build: () => T): () => T | undefined {
  let state: { v: T | undefined } | undefined;
  return () => {
    if (state === undefined) {
      try {
        state = { v: build() };
      } catch (err) {
        state = { v: undefined };
        log.warn(`${what} could not be built (${errorText(err)}); continuing without it`);
      }
    }
    return state.v;
  };
}

/**
 * The SDK, built per signal the first time it is really used: a span started, a measurement
 * recorded, a log record emitted, a context injected or extracted, or the warm-up timer. Handing
 * out tracers, meters and loggers to instrumentations costs nothing, so loading instrumentations
 * does not load the SDK, and a short-lived process that records nothing never loads it at all.
 */
export class LazySdk {
  private readonly resource: () => Resource | undefined;
  readonly tracerProvider: () => (TracerProvider & Flushable) | undefined;
  readonly meterProvider: () => (MeterProvider & Flushable) | undefined;
  readonly loggerProvider: () => (LoggerProvider & Flushable) | undefined;
  readonly propagator: () => TextMapPropagator | undefined;
  private readonly built = new Set<Flushable>();

  private readonly values: Values;
  /** Configurators run once, on the first build of anything. */
  private readonly additions: () => SdkAdditions | undefined;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    plugins: { configurators: readonly ConfiguratorDescriptor[]; distro?: DistroDescriptor | undefined } = { configurators: [] },
    private readonly runtime?: RuntimeMetrics,
    /** Our own metrics (OTEL_NODE_SELF_METRICS_ENABLED), attached like the runtime metrics. */
    private readonly self?: SelfMetrics,
    /** Worker threads' and child processes' metrics (src/multiprocess), when this process collects them. */
    private readonly multiprocess?: Multiprocess,
  ) {
    const values = config.values;
    this.values = values;
    this.additions = once('configurators', log, () => runConfigurators(plugins.configurators, values, log));
    const distroAttrs: Record<string, string> = plugins.distro ? { 'telemetry.distro.name': plugins.distro.name, 'telemetry.distro.version': plugins.distro.version } : {};
    this.resource = once('resource', log, () => buildResource(values, { ...distroAttrs, ...this.extras().resourceAttributes }));
    this.tracerProvider = once('tracer provider', log, () => this.track(this.buildTracing()));
    this.meterProvider = once('meter provider', log, () => this.track(this.buildMetrics()));
    this.loggerProvider = once('logger provider', log, () => this.track(this.buildLogs()));
    this.propagator = once('propagator', log, () => buildPropagator(values, this.extras().propagators));
  }

  private extras(): SdkAdditions {
    return this.additions() ?? emptyAdditions();
  }

  private track<T extends Flushable | undefined>(p: T): T {
    if (p !== undefined) this.built.add(p);
    return p;
  }

  /** Spans still to be exported, sent synchronously if the process ends by process.exit() or a crash. */
  private exitSend: ExitSend | undefined;
  private exitLabel = 'exit send';
  /** Batch processors whose queue cannot be sent at exit (gRPC, TLS files, Zipkin): what is left in them is lost. */
  private readonly unsendable: { readonly processor: object; readonly label: string }[] = [];

  /** The OTLP span processor, with the exit-time sender beside it when the settings allow one. */
  private otlpTraces(t: typeof import('@opentelemetry/sdk-trace'), batch: BatchConfig): import('@opentelemetry/sdk-trace').SpanProcessor {
    const s = otlpSettings(this.config, 'traces');
    // OTEL_NODE_TRACER=sdk is today's path whole: upstream's processor and serializer too.
    if (this.values.OTEL_NODE_TRACER === 'sdk' || !this.values.OTEL_NODE_TRACES_ENCODE_AT_END) {
      type Spans = import('@opentelemetry/sdk-trace').ReadableSpan[];
      const encoder = this.values.OTEL_NODE_TRACER === 'sdk' ? 'upstream' : 'own';
      const lazy = otlpExporter<Spans>(this.config, 'traces', this.log, {}, { encoder });
      const processor = new t.BatchSpanProcessor({ exporter: lazy, ...batch });
      this.exitAware(s, lazy, processor);
      return processor;
    }
    let ownEncoder = false;
    const lazy = otlpExporter<SpanItems>(this.config, 'traces', this.log, {}, { encoder: 'own', onOwnEncoder: () => (ownEncoder = true) });
    const processor = new EncodingSpanProcessor({
      ...batch,
      exporter: lazy,
      json: s.protocol === 'http/json',
      takesEncoded: () => ownEncoder,
      onDrop: (n) => recordDropped('traces', n),
      onEncodeError: (err) => {
        // One reason for all: the loss line's reasons stay few; the error itself at debug.
        this.log.debug(`${lazy.label}: a span could not be encoded (${errorText(err)})`);
        recordFailed('traces', 1, 'span could not be encoded', lazy.label);
      },
      context: (require('@opentelemetry/api') as Api).context,
    });
    this.exitAware(s, lazy, processor);
    return processor;
  }

  /** Sends what `processor` still queues, and what `lazy` still retries, at exit when the settings allow it; else counts it lost. */
  private exitAware<I>(s: OtlpSettings, lazy: LazyExporter<I>, processor: object): void {
    if (canSendAtExit(s)) {
      this.exitSend = new ExitSend(s, () => [...(lazy.takeIdle() as (ReadableSpan[] | SpanBatch)[]), ...queuedItems(processor)], this.log);
      this.exitLabel = lazy.label;
    } else {
      this.unsendable.push({ processor, label: lazy.label });
    }
  }

  /**
   * At 'exit' after process.exit() or an uncaught exception (synchronous): sends the spans not
   * yet exported (queued, or waiting to be retried), each counted by what became of them; spans
   * queued where nothing can be sent at exit are counted lost.
   */
  sendAtExit(): void {
    for (const u of this.unsendable) {
      const n = countSpans(queuedItems(u.processor));
      if (n > 0) recordFailed('traces', n, 'not sent before exit (queued; no exit-time send for this exporter)', u.label);
    }
    const r = this.exitSend?.sendNow();
    if (r === undefined) return;
    if (r.outcome === 'delivered') recordExported('traces', r.n);
    else if (r.outcome === 'unknown') recordUnknown('traces', r.n);
    else recordFailed('traces', r.n, r.reason, this.exitLabel);
  }

  private zipkinTraces(t: typeof import('@opentelemetry/sdk-trace'), batch: BatchConfig): import('@opentelemetry/sdk-trace').SpanProcessor {
    const exporter = zipkinExporter<import('@opentelemetry/sdk-trace').ReadableSpan[]>(this.values, this.log);
    const processor = new t.BatchSpanProcessor({ exporter, ...batch });
    this.unsendable.push({ processor, label: exporter.label });
    return processor;
  }

  private buildTracing(): TracerProvider & Flushable {
    const t = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
    const extras = this.extras();
    const v = this.values;
    const batch = { ...batchOptions(v, 'OTEL_BSP'), selfObsMeterProvider: queueDropCounter('traces', noopMeter) };
    type Spans = import('@opentelemetry/sdk-trace').ReadableSpan[];
    const exporting = exporterNames(v, 'traces', this.log).map((name) =>
      name === 'console'
        ? new t.SimpleSpanProcessor({ exporter: new t.ConsoleSpanExporter() })
        : name === 'zipkin'
          ? this.zipkinTraces(t, batch)
          : this.otlpTraces(t, batch),
    );
    const spanProcessors = [...extras.spanProcessors, ...exporting];
    const userSampler = this.config.sources.OTEL_TRACES_SAMPLER !== 'default';
    const sampler = extras.sampler && !userSampler ? extras.sampler : buildSampler(v);
    this.spanProcessors = spanProcessors;
    const resource = this.resource();
    if (v.OTEL_NODE_TRACER === 'sdk') return new t.TracerProvider({ sampler, spanProcessors, spanLimits: spanLimits(v), ...(resource ? { resource } : {}) });
    const { LeanTracerProvider } = require('../trace/tracer') as typeof import('../trace/tracer');
    return new LeanTracerProvider({
      api: require('@opentelemetry/api') as Api,
      sampler,
      spanProcessors,
      spanLimits: spanLimits(v),
      // What upstream's provider falls back to.
      resource: resource ?? (require('@opentelemetry/resources') as typeof import('@opentelemetry/resources')).defaultResource(),
      warn: (m) => this.log.warn(m),
    });
  }

  private buildMetrics(): (MeterProvider & Flushable) | undefined {
    const names = exporterNames(this.values, 'metrics', this.log);
    const extras = this.extras();
    if (names.length === 0 && extras.metricReaders.length === 0) return undefined;
    const m = require('@opentelemetry/sdk-metrics') as typeof import('@opentelemetry/sdk-metrics');
    const timing = { exportIntervalMillis: this.values.OTEL_METRIC_EXPORT_INTERVAL, exportTimeoutMillis: this.values.OTEL_METRIC_EXPORT_TIMEOUT };
    const temporality = temporalitySelector(m, this.values.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE);
    const mp = this.multiprocess;
    // Each reader also takes in the worker threads' metrics, and Prometheus the child processes' too.
    const merged = <R extends import('@opentelemetry/sdk-metrics').IMetricReader>(r: R, include: Include): R => (mp ? (mp.wrap(r as unknown as import('@opentelemetry/sdk-metrics').MetricReader, include) as unknown as R) : r);
    const exporting = names.flatMap((name): import('@opentelemetry/sdk-metrics').IMetricReader[] => {
      if (name === 'prometheus') {
        // A child's metrics are served by the topmost process: no second listener on the port.
        if (mp?.child) return [];
        const settled = (): Promise<void> => this.resource()?.waitForAsyncAttributes?.().catch(() => undefined) ?? Promise.resolve();
        return prometheusReader(this.values, this.log, settled, mp ? () => mp.dropInText() : undefined).map((r) => (mp ? (mp.wrap(r as unknown as import('@opentelemetry/sdk-metrics').MetricReader, 'all', true) as unknown as typeof r) : r));
      }
      if (mp?.child && !mp.childExportsOtlp) return [];
      if (name === 'console') return [merged(new m.PeriodicExportingMetricReader({ exporter: new m.ConsoleMetricExporter(), ...timing }), 'threads')];
      const lazy = otlpExporter<import('@opentelemetry/sdk-metrics').ResourceMetrics>(this.config, 'metrics', this.log);
      // Answered here, so the reader does not load the exporter package early to ask it.
      const exponential = this.values.OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION === 'base2_exponential_bucket_histogram';
      const selectAggregation = (type: import('@opentelemetry/sdk-metrics').InstrumentType): import('@opentelemetry/sdk-metrics').AggregationOption =>
        exponential && type === m.InstrumentType.HISTOGRAM ? { type: m.AggregationType.EXPONENTIAL_HISTOGRAM } : { type: m.AggregationType.DEFAULT };
      const exporter = Object.assign(lazy, { selectAggregationTemporality: temporality, selectAggregation });
      return [merged(new m.PeriodicExportingMetricReader({ exporter, ...timing }), mp?.child === true ? 'threads' : (mp?.otlpInclude ?? 'threads'))];
    });
    if (mp?.child) exporting.push(mp.sender(m));
    const resource = this.resource();
    this.runtime?.beforeReaders();
    const provider = new m.MeterProvider({ readers: [...exporting, ...extras.metricReaders], views: extras.views, ...(resource ? { resource } : {}) });
    try {
      this.runtime?.attach(provider.getMeter(RUNTIME_SCOPE, VERSION));
    } catch (err) {
      this.log.warn(`runtime metrics could not start (${errorText(err)}); continuing without them`);
      this.runtime?.stop();
    }
    try {
      if (this.self) this.self.attach(provider.getMeter(this.self.scope, VERSION));
    } catch (err) {
      this.log.warn(`self-metrics could not start (${errorText(err)}); continuing without them`);
      this.self?.stop();
    }
    return provider;
  }

  private buildLogs(): (LoggerProvider & Flushable) | undefined {
    const names = exporterNames(this.values, 'logs', this.log);
    const extras = this.extras();
    if (names.length === 0 && extras.logRecordProcessors.length === 0) return undefined;
    const l = require('@opentelemetry/sdk-logs') as typeof import('@opentelemetry/sdk-logs');
    const v = this.values;
    const batch = { ...batchOptions(v, 'OTEL_BLRP'), selfObsMeterProvider: queueDropCounter('logs', noopMeter) };
    const exporting = names.map((name) =>
      name === 'console'
        ? new l.SimpleLogRecordProcessor({ exporter: new l.ConsoleLogRecordExporter() })
        : new l.BatchLogRecordProcessor({ exporter: otlpExporter<import('@opentelemetry/sdk-logs').ReadableLogRecord[]>(this.config, 'logs', this.log), ...batch }),
    );
    const logRecordLimits = {
      attributeValueLengthLimit: v.OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT ?? v.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT ?? Infinity,
      attributeCountLimit: v.OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT ?? v.OTEL_ATTRIBUTE_COUNT_LIMIT ?? 128,
    };
    const resource = this.resource();
    return new l.LoggerProvider({ processors: [...extras.logRecordProcessors, ...exporting], logRecordLimits, ...(resource ? { resource } : {}) });
  }

  /** Installs the context manager and the lazy facades as the API's globals. */
  registerGlobals(api: Api): void {
    const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
    api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const sdk = this;
    api.trace.setGlobalTracerProvider(lazyTracerProvider(api, () => sdk.tracerProvider()));
    if (exporterNames(this.values, 'metrics', this.log).length > 0) {
      api.metrics.setGlobalMeterProvider({
        getMeter(name: string, version?: string, options?: MeterOptions): Meter {
          const m = new LazyMeter(() => sdk.meterProvider()?.getMeter(name, version, options) ?? api.createNoopMeter(), () => sdk.ensureMetrics());
          if (sdk.metricsBuilt) m.materialize();
          else sdk.meters.push(m);
          return m;
        },
      });
    }
    if (exporterNames(this.values, 'logs', this.log).length > 0) {
      api.logs.setGlobalLoggerProvider({
        // Built on the first record: an app whose logger instrumentation never emits loads no logs SDK.
        getLogger(name: string, version?: string, options?: LoggerOptions): ApiLogger {
          let real: ApiLogger | undefined;
          const get = (): ApiLogger => (real ??= sdk.loggerProvider()?.getLogger(name, version, options) ?? api.createNoopLogger());
          return { emit: (record) => get().emit(record), enabled: (o) => get().enabled(o) };
        },
      });
    }
    if (!this.values.OTEL_PROPAGATORS.includes('none')) {
      api.propagation.setGlobalPropagator({
        inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
          sdk.propagator()?.inject(ctx, carrier, setter);
        },
        extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
          const p = sdk.propagator();
          return p ? p.extract(ctx, carrier, getter) : ctx;
        },
        fields(): string[] {
          return sdk.propagator()?.fields() ?? [];
        },
      });
    }
  }

  /** This thread's span processors, once the tracing SDK is built. */
  private spanProcessors: readonly import('@opentelemetry/sdk-trace').SpanProcessor[] = [];

  /**
   * A span ended in a traced worker thread (src/async): handed to this thread's processors, under
   * this thread's resource, as if it had ended here.
   */
  endForeignSpan(make: (resource: Resource) => import('@opentelemetry/sdk-trace').ReadableSpan): void {
    const resource = this.tracerProvider() !== undefined ? this.resource() : undefined;
    if (resource === undefined) return;
    const span = make(resource);
    for (const p of this.spanProcessors) p.onEnd(span);
  }

  /** Meters handed out before the metrics SDK was built. */
  readonly meters: LazyMeter[] = [];
  metricsBuilt = false;

  /** Builds the metrics SDK and gives every meter handed out so far its real one. */
  ensureMetrics(): void {
    if (this.metricsBuilt || this.meterProvider() === undefined) return;
    this.metricsBuilt = true;
    for (const m of this.meters.splice(0)) m.materialize();
  }

  /**
   * Builds what is still lazy after `ms`, off the startup path, so a server's first request does
   * not pay for it and observable instruments (runtime metrics) get collected. Unref'd: a process
   * that ends sooner never pays at all.
   */
  warmUp(ms: number): void {
    const timer = setTimeout(() => {
      try {
        this.tracerProvider();
        this.ensureMetrics();
      } catch (err) {
        this.log.debug(`warm-up: ${errorText(err)}`);
      }
    }, ms);
    timer.unref();
  }

  /** Flushes and shuts down whatever was built; never rejects. */
  async shutdown(): Promise<void> {
    this.runtime?.flush();
    this.runtime?.stop();
    await Promise.all([...this.built].map((p) => p.shutdown().catch((err: unknown) => this.log.debug(`shutdown: ${errorText(err)}`))));
  }

  /** The batch processors' forceFlush hands batches over; exports still retrying are waited for too. */
  async forceFlush(): Promise<void> {
    await Promise.all([...this.built].map((p) => p.forceFlush().catch((err: unknown) => this.log.debug(`flush: ${errorText(err)}`))));
    await settleAllExports();
  }
}
