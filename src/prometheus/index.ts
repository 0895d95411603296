/**
 * otel-autoinstrument/prometheus: prom-client's Counter, Gauge, Histogram, Summary and registry,
 * correct across worker threads and cluster workers (docs/prometheus-drop-in.md). Replace
 * `require('prom-client')` with `require('otel-autoinstrument/prometheus')`.
 */
import { setUpStandalone } from '../multiprocess/standalone';
import { globalRegistry } from './registry';

// Before the app can fork or start a thread: what the register hook would have set up, unless it has.
setUpStandalone();

export { AggregatorRegistry, Registry } from './registry';
export { collectDefaultMetrics } from './default-metrics';
export type { DefaultMetricsCollectorConfiguration } from './default-metrics';
export { Counter, DEFAULT_BUCKETS, DEFAULT_MAX_SERIES, Gauge, Histogram, Metric, Summary } from './metrics';
export type { Aggregator, HistogramConfiguration, LabelValues, MetricConfiguration, MetricObject, SummaryConfiguration } from './metrics';
export type { MetricValue } from './values';

/** The default registry (prom-client's `register`). */
export const register = globalRegistry;
export const contentType = globalRegistry.contentType;
export const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';
export const openMetricsContentType = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export function linearBuckets(start: number, width: number, count: number): number[] {
  if (count < 1) throw new Error('Linear buckets needs a positive count');
  return Array.from({ length: count }, (_, i) => start + i * width);
}

export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  if (start <= 0) throw new Error('Exponential buckets needs a positive start');
  if (count < 1) throw new Error('Exponential buckets needs a positive count');
  if (factor <= 1) throw new Error('Exponential buckets needs a factor greater than 1');
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}
