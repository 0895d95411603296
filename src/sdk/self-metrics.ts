import { type Attributes, type Meter, ValueType } from '@opentelemetry/api';
import { exportStats, onExportDuration, type Signal } from './export-stats';
import { redact } from '../redact';

/** The instrumentation scope of otel-autoinstrument's own metrics. */
export const SELF_SCOPE = 'otel-autoinstrument/self';

const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];
/** The semantic conventions' SDK exporter metrics, by signal, with their units. */
const EXPORTED: Record<Signal, { name: string; unit: string }> = {
  traces: { name: 'otel.sdk.exporter.span.exported', unit: '{span}' },
  metrics: { name: 'otel.sdk.exporter.metric_data_point.exported', unit: '{data_point}' },
  logs: { name: 'otel.sdk.exporter.log.exported', unit: '{log_record}' },
};
export const DURATION = 'otel.sdk.exporter.operation.duration';
export const DROPPED = 'autoinstrument.exporter.dropped';
export const ACTIVE = 'autoinstrument.instrumentations.active';
const SIGNAL_ATTR = 'autoinstrument.signal';
/** Export durations span milliseconds (a local collector) to the export timeout (10 s by default). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** "connection refused" -> "connection_refused", "HTTP 500" -> "http_500": error.type values, secrets left out. */
export function errorType(reason: string): string {
  return redact(reason).toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'export_failed';
}

/**
 * otel-autoinstrument's own metrics (docs/self-metrics.md), read from the counters export-stats
 * keeps anyway, on the real meter once the metrics SDK is built (never building it themselves).
 * Upstream's exporters and batch processors could emit some of these names too, but only when
 * given a meter provider, which we never give them: nothing is counted twice.
 */
export class SelfMetrics {
  readonly scope = SELF_SCOPE;
  /** How many instrumentations are loaded; set by start() once they exist. */
  active: () => number = () => 0;

  constructor(
    /** The signals with an exporter: the others would only report zeros. */
    private readonly signals: readonly Signal[] = SIGNALS,
  ) {}

  attach(meter: Meter): void {
    const int = { valueType: ValueType.INT };
    const exported = Object.fromEntries(this.signals.map((s) => [s, meter.createObservableCounter(EXPORTED[s].name, { ...int, unit: EXPORTED[s].unit, description: 'Items for which the export has finished, successfully or not (error.type set when it failed).' })])) as Partial<Record<Signal, ReturnType<Meter['createObservableCounter']>>>;
    const dropped = meter.createObservableCounter(DROPPED, { ...int, unit: '{item}', description: 'Spans, metric data points or log records dropped before any export: batch queue or retry buffer full.' });
    const active = meter.createObservableUpDownCounter(ACTIVE, { ...int, unit: '{instrumentation}', description: 'Instrumentations loaded (each loads with its first target module).' });
    meter.addBatchObservableCallback(
      (r) => {
        const stats = exportStats();
        for (const s of this.signals) {
          const st = stats[s];
          const counter = exported[s];
          if (counter === undefined) continue;
          r.observe(counter, st.exported);
          // One series per failure type; reasons that map to the same type add up.
          const byType = new Map<string, number>();
          for (const [reason, n] of Object.entries(st.failedBy)) byType.set(errorType(reason), (byType.get(errorType(reason)) ?? 0) + n);
          for (const [type, n] of byType) r.observe(counter, n, { 'error.type': type });
          r.observe(dropped, st.dropped, { [SIGNAL_ATTR]: s });
        }
        r.observe(active, this.active());
      },
      [...this.signals.flatMap((s) => exported[s] ?? []), dropped, active],
    );
    const duration = meter.createHistogram(DURATION, { unit: 's', description: 'The duration of exporting a batch of telemetry records.', advice: { explicitBucketBoundaries: DURATION_BUCKETS } });
    const attrs = new Map<string, Attributes>();
    onExportDuration((signal, seconds, reason) => {
      const key = `${signal} ${reason ?? ''}`;
      let a = attrs.get(key);
      if (a === undefined) attrs.set(key, (a = { [SIGNAL_ATTR]: signal, ...(reason !== undefined ? { 'error.type': errorType(reason) } : {}) }));
      duration.record(seconds, a);
    });
  }

  stop(): void {
    onExportDuration(undefined);
  }
}
