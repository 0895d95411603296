import { localStore } from '../multiprocess/local';
import { dropInMetrics, type MetricType, type MetricValue, renderFamily, typeOf, valuesOf } from './values';

/** What a registry needs of a metric, whatever its label names; prom-client also takes any object with a name and get(). */
export interface RegisteredMetric {
  readonly name: string;
  readonly help?: string;
  readonly type?: MetricType;
  readonly aggregator?: string;
  reset?(): void;
  /** Ours: the collect callback; values then come from the store. */
  runCollect?(): Promise<void>;
  /** Ours: no longer listed anywhere (removed from the default registry). */
  retire?(): void;
  get(): Promise<MetricJson> | MetricJson;
}

export interface MetricJson {
  name: string;
  help: string;
  type: MetricType;
  values: MetricValue[];
  aggregator?: string;
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
    if (this.everything) this.metricsByName.get(name)?.retire?.();
    this.metricsByName.delete(name);
  }

  clear(): void {
    if (this.everything) for (const m of this.metricsByName.values()) m.retire?.();
    this.metricsByName.clear();
    this.defaultLabels = {};
  }

  resetMetrics(): void {
    for (const m of this.metricsByName.values()) m.reset?.();
  }

  setDefaultLabels(labels: Record<string, string | number>): void {
    this.defaultLabels = { ...labels };
  }

  private async collectAll(): Promise<void> {
    await Promise.all([...this.metricsByName.values()].map((m) => m.runCollect?.()));
  }

  /** Each registered metric as get() gives it: ours from the store (after their collect callbacks), others from their own get(). */
  private async json(): Promise<MetricJson[]> {
    await this.collectAll();
    const view = dropInMetrics(localStore().view());
    const out: MetricJson[] = [];
    for (const m of this.metricsByName.values()) {
      if (m.runCollect === undefined) {
        out.push(await m.get());
        continue;
      }
      const f = view.get(m.name);
      out.push({ name: m.name, help: m.help ?? '', type: m.type ?? 'gauge', values: f ? valuesOf(f) : [], aggregator: m.aggregator ?? 'sum' });
    }
    if (this.everything) {
      for (const [name, f] of view) if (!this.metricsByName.has(name) && f.meta.hidden !== true) out.push({ name, help: f.meta.description, type: typeOf(f), values: valuesOf(f), aggregator: 'sum' });
    }
    return out;
  }

  async getMetricsAsJSON(): Promise<MetricJson[]> {
    const all = await this.json();
    if (Object.keys(this.defaultLabels).length === 0) return all;
    return all.map((m) => ({ ...m, values: m.values.map((v) => ({ ...v, labels: { ...this.defaultLabels, ...v.labels } })) }));
  }

  async metrics(): Promise<string> {
    const o = { openMetrics: this.openMetrics, defaultLabels: this.defaultLabels };
    const families = (await this.json()).map((m) => renderFamily(m.name, m.help, m.type, m.values, o));
    return this.openMetrics ? `${families.join('\n')}\n# EOF\n` : `${families.join('\n\n')}\n`;
  }

  async getSingleMetricAsString(name: string): Promise<string> {
    const m = this.metricsByName.get(name);
    if (m === undefined) return '';
    const o = { openMetrics: this.openMetrics, defaultLabels: this.defaultLabels };
    if (m.runCollect === undefined) {
      const j = await m.get();
      return renderFamily(j.name, j.help, j.type, j.values, o);
    }
    await m.runCollect();
    const f = dropInMetrics(localStore().view()).get(name);
    return renderFamily(m.name, m.help ?? '', m.type ?? 'gauge', f ? valuesOf(f) : [], o);
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
