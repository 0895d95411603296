import { localStore } from '../multiprocess/local';
import { dropInMetrics, type MetricType, type MetricValue, renderFamily, typeOf, valuesOf } from './values';

/** What a registry needs of a metric, whatever its label names. */
export interface RegisteredMetric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly aggregator: string;
  reset(): void;
  runCollect(): Promise<void>;
}

export interface MetricJson {
  name: string;
  help: string;
  type: MetricType;
  values: MetricValue[];
  aggregator: string;
}

const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/**
 * prom-client's Registry. Values come from the store, so what metrics() shows is this process
 * and everything below it: its worker threads and, in a cluster primary, every worker (the
 * default registry also lists drop-in metrics that only other threads or processes created).
 */
export class Registry {
  static get PROMETHEUS_CONTENT_TYPE(): string {
    return PROMETHEUS_CONTENT_TYPE;
  }
  static get OPENMETRICS_CONTENT_TYPE(): string {
    return OPENMETRICS_CONTENT_TYPE;
  }

  private metricsByName = new Map<string, RegisteredMetric>();
  private defaultLabels: Record<string, string | number> = {};
  private type: string;

  constructor(
    contentType: string = PROMETHEUS_CONTENT_TYPE,
    /** The default registry also renders metrics it has not registered itself (created elsewhere). */
    private readonly everything = false,
  ) {
    this.type = checkType(contentType);
  }

  get contentType(): string {
    return this.type;
  }

  get openMetrics(): boolean {
    return this.type === OPENMETRICS_CONTENT_TYPE;
  }

  setContentType(contentType: string): void {
    this.type = checkType(contentType);
  }

  registerMetric(metric: RegisteredMetric): void {
    const had = this.metricsByName.get(metric.name);
    if (had !== undefined && had !== metric) throw new Error(`A metric with the name ${metric.name} has already been registered.`);
    this.metricsByName.set(metric.name, metric);
  }

  getMetricsAsArray(): RegisteredMetric[] {
    return [...this.metricsByName.values()];
  }

  getSingleMetric(name: string): RegisteredMetric | undefined {
    return this.metricsByName.get(name);
  }

  removeSingleMetric(name: string): void {
    this.metricsByName.delete(name);
  }

  clear(): void {
    this.metricsByName.clear();
    this.defaultLabels = {};
  }

  resetMetrics(): void {
    for (const m of this.metricsByName.values()) m.reset();
  }

  setDefaultLabels(labels: Record<string, string | number>): void {
    this.defaultLabels = { ...labels };
  }

  private async collectAll(): Promise<void> {
    await Promise.all([...this.metricsByName.values()].map((m) => m.runCollect()));
  }

  async getMetricsAsJSON(): Promise<MetricJson[]> {
    await this.collectAll();
    const view = dropInMetrics(localStore().view());
    return [...this.metricsByName.values()].map((m) => {
      const values = view.get(m.name) !== undefined ? valuesOf(view.get(m.name)!) : [];
      const withDefaults = Object.keys(this.defaultLabels).length > 0 ? values.map((v) => ({ ...v, labels: { ...this.defaultLabels, ...v.labels } })) : values;
      return { name: m.name, help: m.help, type: m.type, values: withDefaults, aggregator: m.aggregator };
    });
  }

  async metrics(): Promise<string> {
    await this.collectAll();
    const view = dropInMetrics(localStore().view());
    const o = { openMetrics: this.openMetrics, defaultLabels: this.defaultLabels };
    const families: string[] = [];
    for (const m of this.metricsByName.values()) {
      const f = view.get(m.name);
      families.push(renderFamily(m.name, m.help, m.type, f ? valuesOf(f) : [], o));
    }
    if (this.everything) for (const [name, f] of view) if (!this.metricsByName.has(name)) families.push(renderFamily(name, f.meta.description, typeOf(f), valuesOf(f), o));
    return this.openMetrics ? `${families.join('\n')}\n# EOF\n` : `${families.join('\n\n')}\n`;
  }

  async getSingleMetricAsString(name: string): Promise<string> {
    const m = this.metricsByName.get(name);
    if (m === undefined) return '';
    await m.runCollect();
    const f = dropInMetrics(localStore().view()).get(name);
    return renderFamily(m.name, m.help, m.type, f ? valuesOf(f) : [], { openMetrics: this.openMetrics, defaultLabels: this.defaultLabels });
  }
}

function checkType(t: string): string {
  if (t !== PROMETHEUS_CONTENT_TYPE && t !== OPENMETRICS_CONTENT_TYPE) throw new TypeError(`Content type ${t} is unsupported`);
  return t;
}

const KEY = Symbol.for('otel-autoinstrument.prometheus-registry');
type Slot = { [KEY]?: Registry };

/** One default registry per thread, shared by every copy of the package. */
export const globalRegistry: Registry = ((globalThis as Slot)[KEY] ??= new Registry(PROMETHEUS_CONTENT_TYPE, true));

/**
 * prom-client's cluster registry. No IPC at scrape time: the primary's store already holds every
 * worker's metrics, so clusterMetrics() is the default registry's metrics().
 */
export class AggregatorRegistry extends Registry {
  async clusterMetrics(): Promise<string> {
    return globalRegistry.metrics();
  }
}
