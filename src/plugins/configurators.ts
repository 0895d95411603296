import type { TextMapPropagator } from '@opentelemetry/api';
import type { LogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { IMetricReader, ViewOptions } from '@opentelemetry/sdk-metrics';
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Values } from '../config/table';
import { errorText, type Logger } from '../log';
import { guardProcessor, guardSampler } from '../sdk/guard-processor';
import type { ConfiguratorDescriptor } from './types';

type AttributeValue = string | number | boolean;

/** What a configurator's `configure(ctx)` receives. Runs once, before the SDK is built. */
export interface ConfiguratorContext {
  /** The effective configuration, by variable name. */
  readonly config: Values;
  addResourceAttributes(attributes: Readonly<Record<string, AttributeValue>>): void;
  addSpanProcessor(processor: SpanProcessor): void;
  /** Used unless OTEL_TRACES_SAMPLER is set (env or flag): the user's explicit choice wins. */
  setSampler(sampler: Sampler): void;
  addPropagator(propagator: TextMapPropagator): void;
  addMetricReader(reader: IMetricReader): void;
  addView(view: ViewOptions): void;
  addLogRecordProcessor(processor: LogRecordProcessor): void;
}

/** Everything all configurators added, in their order. */
export interface SdkAdditions {
  readonly resourceAttributes: Record<string, AttributeValue>;
  readonly spanProcessors: SpanProcessor[];
  sampler?: Sampler;
  readonly propagators: TextMapPropagator[];
  readonly metricReaders: IMetricReader[];
  readonly views: ViewOptions[];
  readonly logRecordProcessors: LogRecordProcessor[];
}

export function emptyAdditions(): SdkAdditions {
  return { resourceAttributes: {}, spanProcessors: [], propagators: [], metricReaders: [], views: [], logRecordProcessors: [] };
}

/**
 * Runs each configurator against its own staging area and keeps what it added only if it
 * returned normally: one that throws, or is not a function, costs one warning and nothing else.
 */
export function runConfigurators(list: readonly ConfiguratorDescriptor[], values: Values, log: Logger): SdkAdditions {
  const all = emptyAdditions();
  for (const c of list) {
    const staged = emptyAdditions();
    const ctx: ConfiguratorContext = {
      config: values,
      addResourceAttributes: (a) => Object.assign(staged.resourceAttributes, a),
      addSpanProcessor: (p) => staged.spanProcessors.push(guardProcessor(p, `plugin ${c.origin}: configurator ${c.name}'s span processor`, log)),
      setSampler: (s) => (staged.sampler = guardSampler(s, `plugin ${c.origin}: configurator ${c.name}'s sampler`, log)),
      addPropagator: (p) => staged.propagators.push(p),
      addMetricReader: (r) => staged.metricReaders.push(r),
      addView: (v) => staged.views.push(v),
      addLogRecordProcessor: (p) => staged.logRecordProcessors.push(guardProcessor(p, `plugin ${c.origin}: configurator ${c.name}'s log record processor`, log)),
    };
    try {
      const mod = require(c.entry) as Record<string, unknown>;
      const fn = mod[c.export];
      if (typeof fn !== 'function') throw new Error(`${c.entry} has no function export "${c.export}"`);
      const result: unknown = fn(ctx);
      if (result instanceof Promise) {
        result.catch(() => undefined);
        throw new Error('configure() returned a promise; configurators must be synchronous');
      }
    } catch (err) {
      log.warn(`plugin ${c.origin}: configurator ${c.name} failed (${errorText(err)}); what it configured is ignored`);
      continue;
    }
    Object.assign(all.resourceAttributes, staged.resourceAttributes);
    all.spanProcessors.push(...staged.spanProcessors);
    if (staged.sampler) all.sampler = staged.sampler;
    all.propagators.push(...staged.propagators);
    all.metricReaders.push(...staged.metricReaders);
    all.views.push(...staged.views);
    all.logRecordProcessors.push(...staged.logRecordProcessors);
  }
  return all;
}
