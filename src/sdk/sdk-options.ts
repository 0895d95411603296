import type { Meter } from '@opentelemetry/api';
import type { Values } from '../config/table';

// The SDK options that come straight from the configuration table, one builder each.

/** The batch processor options from OTEL_BSP_* or OTEL_BLRP_* (the config keeps a batch within the queue: AT_MOST). */
export function batchOptions(v: Values, p: 'OTEL_BSP' | 'OTEL_BLRP') {
  return {
    scheduledDelayMillis: v[`${p}_SCHEDULE_DELAY`],
    exportTimeoutMillis: v[`${p}_EXPORT_TIMEOUT`],
    maxQueueSize: v[`${p}_MAX_QUEUE_SIZE`],
    maxExportBatchSize: v[`${p}_MAX_EXPORT_BATCH_SIZE`],
  };
}

/** For the batch processors' drop counters; the API is loaded before any SDK is built. */
export const noopMeter = (): Meter => (require('@opentelemetry/api') as typeof import('@opentelemetry/api')).createNoopMeter();

type SdkMetrics = typeof import('@opentelemetry/sdk-metrics');

/**
 * OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, per the OTLP exporter spec: delta for
 * counters and histograms (and, for "delta", observable counters and gauges), cumulative for the
 * rest.
 */
export function temporalitySelector(m: SdkMetrics, preference: Values['OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE']) {
  const { CUMULATIVE, DELTA } = m.AggregationTemporality;
  const I = m.InstrumentType;
  const delta = preference === 'delta' ? [I.COUNTER, I.OBSERVABLE_COUNTER, I.HISTOGRAM, I.GAUGE, I.OBSERVABLE_GAUGE] : preference === 'lowmemory' ? [I.COUNTER, I.HISTOGRAM] : [];
  return (type: import('@opentelemetry/sdk-metrics').InstrumentType) => (delta.includes(type) ? DELTA : CUMULATIVE);
}

/** The span limits from OTEL_SPAN_* and OTEL_ATTRIBUTE_* (also used by a traced worker thread's tracer). */
export function spanLimits(v: Values) {
  return {
    attributeValueLengthLimit: v.OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT ?? v.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT ?? Infinity,
    attributeCountLimit: v.OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT ?? v.OTEL_ATTRIBUTE_COUNT_LIMIT ?? 128,
    eventCountLimit: v.OTEL_SPAN_EVENT_COUNT_LIMIT ?? 128,
    linkCountLimit: v.OTEL_SPAN_LINK_COUNT_LIMIT ?? 128,
    attributePerEventCountLimit: v.OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT ?? 128,
    attributePerLinkCountLimit: v.OTEL_LINK_ATTRIBUTE_COUNT_LIMIT ?? 128,
  };
}
