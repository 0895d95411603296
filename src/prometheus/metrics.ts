import type { Attributes } from '@opentelemetry/api';
import { format } from 'node:util';
import { localStore } from '../multiprocess/local';
import type { GaugePolicy } from '../multiprocess/policy';
import { type InstrumentMeta, SLOT_CELLS, SLOT_HEADER, type ShardWriter, valueCells } from '../multiprocess/shard';
import { bucketOf } from '../multiprocess/sketch';
import type { ShardSeries, ThreadStore } from '../multiprocess/thread-meter';
import { activeTraceIds, type ExemplarLabels, writeExemplar } from './exemplars';
import { globalRegistry, type Registry } from './registry';
import { DROP_IN_SCOPE, type MetricType, type MetricValue, dropInMetrics, valuesOf } from './values';

export type LabelValues<T extends string = string> = Partial<Record<T, string | number>>;
/** prom-client's aggregators that have a meaning here, plus ours (docs/prometheus-drop-in.md). */
export type Aggregator = 'sum' | 'min' | 'max' | 'last' | 'pid' | 'first' | 'average' | 'omit';

export interface MetricConfiguration<T extends string = string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  registers?: Registry[];
  /** How a gauge merges across processes and threads. */
  aggregator?: Aggregator;
  collect?: (this: Metric<T>) => void | Promise<void>;
  enableExemplars?: boolean;
  /** Label sets kept per metric in each thread; beyond, new ones are dropped with one warning. */
  maxSeries?: number;
}

export interface MetricObject {
  name: string;
  help: string;
  type: MetricType;
  values: MetricValue[];
  aggregator: Aggregator;
}

/** Not in prom-client: it bounds memory when a label value comes from user input. */
export const DEFAULT_MAX_SERIES = 10_000;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const POLICY: Partial<Record<Aggregator, GaugePolicy>> = { sum: 'sum', min: 'min', max: 'max', last: 'last', pid: 'pid', first: 'last' };
const CAPPED = Symbol('capped');

type LabelArgs<T extends string> = Array<string | number | LabelValues<T>>;

/** prom-client's positional or object label arguments, as an object. */
function labelsFrom<T extends string>(labelNames: readonly T[], args: LabelArgs<T>): LabelValues<T> {
  if (args.length === 1 && typeof args[0] === 'object' && args[0] !== null) return args[0];
  if (args.length !== labelNames.length) throw new Error(`Invalid number of arguments (${args.length}): "${args.join(', ')}" for label names (${labelNames.length}): "${labelNames.join(', ')}".`);
  const out: LabelValues<T> = {};
  labelNames.forEach((n, i) => (out[n] = args[i] as string | number));
  return out;
}

function checkValue(v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`Value is not a valid number: ${format(v)}`);
}

/** Metrics with a collect callback in this thread: run at the interval too, so a scrape elsewhere sees fresh values. */
const collecting = new Set<{ runCollect(): Promise<void> }>();
let collectTimer: NodeJS.Timeout | undefined;

function watchCollect(m: { runCollect(): Promise<void> }): void {
  collecting.add(m);
  if (collectTimer !== undefined) return;
  collectTimer = setInterval(() => {
    for (const c of collecting) c.runCollect().catch(() => undefined);
  }, localStore().intervalMs);
  collectTimer.unref();
}

/**
 * The base of the four types: prom-client's configuration checks, and this thread's series in
 * the store. A series is keyed by its label values in labelNames order: one string and one map
 * lookup per measurement.
 */
export abstract class Metric<T extends string = string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  readonly aggregator: Aggregator;
  readonly enableExemplars: boolean;
  readonly collect: ((this: Metric<T>) => void | Promise<void>) | undefined;
  abstract readonly type: MetricType;
  protected readonly w: ShardWriter;
  protected readonly series: ShardSeries;
  /** Where a series' exemplar starts, past the kind's own cells. */
  protected readonly exemplarAt: number;
  private readonly maxSeries: number;
  private capWarned = false;

  constructor(config: MetricConfiguration<T>, kind: InstrumentMeta['kind'], extra: Pick<InstrumentMeta, 'bounds' | 'summary'> = {}) {
    if (typeof config !== 'object' || config === null) throw new TypeError('constructor expected a config object');
    if (!config.help) throw new Error('Missing mandatory help parameter');
    if (!config.name) throw new Error('Missing mandatory name parameter');
    if (!METRIC_NAME.test(config.name)) throw new Error('Invalid metric name');
    const labelNames = config.labelNames ?? [];
    if (!labelNames.every((l) => LABEL_NAME.test(l) && !l.startsWith('__'))) throw new Error('Invalid label name');
    if (config.collect !== undefined && typeof config.collect !== 'function') throw new Error('Optional "collect" parameter must be a function');
    this.name = config.name;
    this.help = config.help;
    this.labelNames = labelNames;
    this.aggregator = config.aggregator ?? 'sum';
    this.enableExemplars = config.enableExemplars === true && kind !== 'summary';
    this.collect = config.collect;
    this.maxSeries = config.maxSeries ?? DEFAULT_MAX_SERIES;
    const registers = config.registers ?? [globalRegistry];
    for (const r of registers) if (this.enableExemplars && !r.openMetrics) throw new TypeError('Exemplars are supported only on OpenMetrics registries');
    const store: ThreadStore = localStore().store;
    this.w = store.writer;
    const meta = {
      ...extra,
      ...(kind === 'gauge' ? { policy: POLICY[this.aggregator] ?? 'sum' } : {}),
      ...(this.enableExemplars ? { exemplar: true } : {}),
      ...(registers.includes(globalRegistry) ? {} : { hidden: true }),
    };
    const s = store.instrument({ name: DROP_IN_SCOPE }, this.name, kind, { description: this.help }, extra.bounds, meta, true);
    if (s === undefined) throw new Error(`metric ${this.name}: this thread's metric store is full`);
    this.series = s;
    this.exemplarAt = valueCells({ kind, ...extra });
    for (const r of registers) r.registerMetric(this);
    if (this.collect !== undefined) watchCollect(this);
  }

  /** The series' first cell, made on first use; -1 when capped or the store is full. Unknown labels throw, as in prom-client. */
  protected at(labels: LabelValues<T> | undefined): number {
    if (labels !== undefined) {
      // More defined labels than labelNames accounts for: one of them is unknown.
      let n = 0;
      for (const k in labels) if (labels[k as T] !== undefined) n++;
      const names = this.labelNames;
      for (let i = 0; i < names.length; i++) if (labels[names[i]!] !== undefined) n--;
      if (n !== 0) this.unknownLabel(labels);
    }
    try {
      return this.series.cellByLabels(this.labelNames, labels, () => this.attributes(labels));
    } catch (err) {
      if (err === CAPPED) return -1;
      throw err;
    }
  }

  private attributes(labels: LabelValues<T> | undefined): Attributes {
    if (this.series.size >= this.maxSeries) {
      if (!this.capWarned) {
        this.capWarned = true;
        process.emitWarning(`metric ${this.name} reached its cap of ${this.maxSeries} label sets in this thread; new label sets are dropped (docs/prometheus-drop-in.md)`, 'otel-autoinstrument');
      }
      throw CAPPED;
    }
    const a: Attributes = {};
    if (labels !== undefined) for (const n of this.labelNames) if (labels[n] !== undefined) a[n] = labels[n] as string | number;
    return a;
  }

  private unknownLabel(labels: LabelValues<T>): never {
    const bad = Object.keys(labels).find((k) => labels[k as T] !== undefined && !this.labelNames.includes(k as T));
    throw new Error(`Added label "${bad ?? '?'}" is not included in initial labelset: ${format(this.labelNames)}`);
  }

  /** Sets a series' cells back to their start, as if just made (the store cannot forget a series). */
  protected abstract zeroAt(c: number): void;

  reset(): void {
    for (const c of this.series.allCells()) if (c >= 0) this.zeroAt(c);
  }

  /** prom-client forgets the series; the store keeps it at zero (docs/prometheus-drop-in.md). */
  remove(...args: LabelArgs<T>): void {
    const c = this.at(labelsFrom(this.labelNames, args));
    if (c >= 0) this.zeroAt(c);
  }

  /** Removed from the default registry: its series are read by no one any more (the default registry lists what any thread has). */
  retire(): void {
    this.w.set(this.series.flagCell, 1);
    collecting.delete(this);
  }

  async runCollect(): Promise<void> {
    if (this.collect) await this.collect();
  }

  /** What this process knows of the metric: this thread, its worker threads and, in a primary, its workers. */
  async get(): Promise<MetricObject> {
    await this.runCollect();
    const f = dropInMetrics(localStore().view()).get(this.name);
    return { name: this.name, help: this.help, type: this.type, values: f ? valuesOf(f) : [], aggregator: this.aggregator };
  }
}

type ExemplarArg<T extends string> = { labels?: LabelValues<T>; value?: number; exemplarLabels?: ExemplarLabels };

export class Counter<T extends string = string> extends Metric<T> {
  readonly type = 'counter';

  constructor(config: MetricConfiguration<T>) {
    super(config, 'counter');
    if (this.labelNames.length === 0) this.at(undefined);
  }

  /** inc(value?), inc(labels, value?), or with exemplars enabled inc({ labels, value, exemplarLabels }). */
  inc(a?: LabelValues<T> | number | ExemplarArg<T>, b?: number): void {
    if (this.enableExemplars) {
      const o = (a ?? {}) as ExemplarArg<T>;
      this.add(o.labels, o.value, o.exemplarLabels ?? activeTraceIds());
    } else if (typeof a === 'object' && a !== null) this.add(a as LabelValues<T>, b, undefined);
    else this.add(undefined, a, undefined);
  }

  private add(labels: LabelValues<T> | undefined, value: number | undefined | null, exemplar: ExemplarLabels | undefined): void {
    const v = value ?? 1;
    checkValue(v);
    if (v < 0) throw new Error('It is not possible to decrease a counter');
    const c = this.at(labels);
    if (c < 0) return;
    this.w.add(c, v);
    if (exemplar !== undefined) writeExemplar(this.w, c + this.exemplarAt, exemplar, v);
  }

  labels(...args: LabelArgs<T>): { inc(value?: number): void } {
    const l = labelsFrom(this.labelNames, args);
    return { inc: (value?: number) => this.add(l, value, this.enableExemplars ? activeTraceIds() : undefined) };
  }

  protected zeroAt(c: number): void {
    this.w.set(c, 0);
  }
}

export class Gauge<T extends string = string> extends Metric<T> {
  readonly type = 'gauge';

  constructor(config: MetricConfiguration<T>) {
    super(config, 'gauge');
    // prom-client shows an unlabelled gauge at 0 from the start.
    if (this.labelNames.length === 0) {
      const c = this.at(undefined);
      if (c >= 0) this.w.set(c + 1, Date.now());
    }
  }

  private write(labels: LabelValues<T> | undefined, v: number, add: boolean): void {
    checkValue(v);
    const c = this.at(labels);
    if (c < 0) return;
    if (add) this.w.add(c, v);
    else this.w.set(c, v);
    this.w.set(c + 1, Date.now());
  }

  set(a: LabelValues<T> | number, b?: number): void {
    if (typeof a === 'object' && a !== null) this.write(a, b as number, false);
    else this.write(undefined, a, false);
  }

  inc(a?: LabelValues<T> | number, b?: number): void {
    if (typeof a === 'object' && a !== null) this.write(a, b ?? 1, true);
    else this.write(undefined, a ?? 1, true);
  }

  dec(a?: LabelValues<T> | number, b?: number): void {
    if (typeof a === 'object' && a !== null) this.write(a, -(b ?? 1), true);
    else this.write(undefined, -(a ?? 1), true);
  }

  setToCurrentTime(labels?: LabelValues<T>): void {
    this.write(labels, Date.now() / 1000, false);
  }

  startTimer(labels?: LabelValues<T>): (end?: LabelValues<T>) => number {
    const start = process.hrtime.bigint();
    return (end) => {
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      this.write({ ...labels, ...end } as LabelValues<T>, s, false);
      return s;
    };
  }

  labels(...args: LabelArgs<T>): { set(v: number): void; inc(v?: number): void; dec(v?: number): void; setToCurrentTime(): void; startTimer(): (end?: LabelValues<T>) => number } {
    const l = labelsFrom(this.labelNames, args);
    return { set: (v) => this.set(l, v), inc: (v) => this.inc(l, v), dec: (v) => this.dec(l, v), setToCurrentTime: () => this.setToCurrentTime(l), startTimer: () => this.startTimer(l) };
  }

  protected zeroAt(c: number): void {
    this.w.set(c, 0);
    this.w.set(c + 1, Date.now());
  }
}

/** prom-client's default buckets. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface HistogramConfiguration<T extends string = string> extends MetricConfiguration<T> {
  buckets?: number[];
}

export class Histogram<T extends string = string> extends Metric<T> {
  readonly type = 'histogram';
  readonly upperBounds: readonly number[];

  constructor(config: HistogramConfiguration<T>) {
    const bounds = [...(config.buckets ?? DEFAULT_BUCKETS)].filter((b) => b !== Infinity);
    for (let i = 1; i < bounds.length; i++) if (bounds[i]! <= bounds[i - 1]!) throw new Error('Bucket values must be sorted in increasing order');
    if ((config.labelNames ?? []).includes('le' as T)) throw new Error('le is a reserved label keyword');
    super(config, 'histogram', { bounds });
    this.upperBounds = bounds;
    if (this.labelNames.length === 0) this.at(undefined);
  }

  /** observe(value), observe(labels, value), or with exemplars enabled observe({ labels, value, exemplarLabels }). */
  observe(a: LabelValues<T> | number | ExemplarArg<T>, b?: number): void {
    if (this.enableExemplars) {
      const o = a as ExemplarArg<T>;
      this.record(o.labels, o.value, o.exemplarLabels ?? activeTraceIds());
    } else if (typeof a === 'object' && a !== null) this.record(a as LabelValues<T>, b, undefined);
    else this.record(undefined, a, undefined);
  }

  private record(labels: LabelValues<T> | undefined, value: number | undefined, exemplar: ExemplarLabels | undefined): void {
    checkValue(value);
    const c = this.at(labels);
    if (c < 0) return;
    const bounds = this.upperBounds;
    const n = bounds.length;
    let i = 0;
    while (i < n && value > bounds[i]!) i++;
    const w = this.w;
    w.count(c + i);
    w.add(c + n + 1, value);
    if (value < w.get(c + n + 2)) w.set(c + n + 2, value);
    if (value > w.get(c + n + 3)) w.set(c + n + 3, value);
    if (exemplar !== undefined) writeExemplar(w, c + this.exemplarAt, exemplar, value);
  }

  startTimer(labels?: LabelValues<T>, exemplarLabels?: ExemplarLabels): (end?: LabelValues<T>) => number {
    const start = process.hrtime.bigint();
    return (end) => {
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      this.record({ ...labels, ...end } as LabelValues<T>, s, this.enableExemplars ? (exemplarLabels ?? activeTraceIds()) : undefined);
      return s;
    };
  }

  /** Makes the series for these labels, with zero counts. */
  zero(labels: LabelValues<T>): void {
    this.at(labels);
  }

  labels(...args: LabelArgs<T>): { observe(v: number): void; startTimer(): (end?: LabelValues<T>) => number } {
    const l = labelsFrom(this.labelNames, args);
    return { observe: (v) => this.record(l, v, this.enableExemplars ? activeTraceIds() : undefined), startTimer: () => this.startTimer(l) };
  }

  protected zeroAt(c: number): void {
    const n = this.upperBounds.length;
    for (let i = 0; i <= n; i++) this.w.zeroCount(c + i);
    this.w.set(c + n + 1, 0);
    this.w.set(c + n + 2, Infinity);
    this.w.set(c + n + 3, -Infinity);
  }
}

export interface SummaryConfiguration<T extends string = string> extends MetricConfiguration<T> {
  percentiles?: number[];
  maxAgeSeconds?: number;
  ageBuckets?: number;
  /** Accepted for compatibility; windows here are slices of a mergeable sketch, nothing to prune or compress. */
  pruneAgedBuckets?: boolean;
  compressCount?: number;
}

export class Summary<T extends string = string> extends Metric<T> {
  readonly type = 'summary';
  readonly percentiles: readonly number[];
  private readonly slots: number;
  private readonly sliceMs: number;

  constructor(config: SummaryConfiguration<T>) {
    if ((config.labelNames ?? []).includes('quantile' as T)) throw new Error('quantile is a reserved label keyword');
    const percentiles = config.percentiles ?? [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999];
    const windowed = (config.maxAgeSeconds ?? 0) > 0 && (config.ageBuckets ?? 0) > 0;
    const slots = windowed ? Math.max(1, Math.floor(config.ageBuckets!)) : 1;
    const sliceMs = windowed ? (config.maxAgeSeconds! * 1000) / slots : 0;
    super(config, 'summary', { summary: { percentiles, slots, sliceMs } });
    this.percentiles = percentiles;
    this.slots = slots;
    this.sliceMs = sliceMs;
    if (this.labelNames.length === 0) this.at(undefined);
  }

  observe(a: LabelValues<T> | number, b?: number): void {
    if (typeof a === 'object' && a !== null) this.record(a, b);
    else this.record(undefined, a);
  }

  private record(labels: LabelValues<T> | undefined, value: number | undefined): void {
    checkValue(value);
    const c = this.at(labels);
    if (c < 0) return;
    const w = this.w;
    w.count(c);
    w.add(c + 1, value);
    let at = c + 2;
    if (this.sliceMs > 0) {
      const epoch = Math.floor(Date.now() / this.sliceMs);
      at += (epoch % this.slots) * SLOT_CELLS;
      if (w.get(at) !== epoch) this.clearSlot(at, epoch);
    }
    w.count(at + 1);
    if (value < w.get(at + 2)) w.set(at + 2, value);
    if (value > w.get(at + 3)) w.set(at + 3, value);
    if (value < 0) w.count(at + 4);
    else if (value === 0) w.count(at + 5);
    else w.count(at + SLOT_HEADER + bucketOf(value));
  }

  /** The slot starts a new slice: marked -1 while cleared, so a reader skips it meanwhile. */
  private clearSlot(at: number, epoch: number): void {
    const w = this.w;
    w.set(at, -1);
    w.zeroCount(at + 1);
    w.zeroCount(at + 4);
    w.zeroCount(at + 5);
    for (let i = SLOT_HEADER; i < SLOT_CELLS; i++) if (w.countAt(at + i) !== 0) w.zeroCount(at + i);
    w.set(at + 2, Infinity);
    w.set(at + 3, -Infinity);
    w.set(at, epoch);
  }

  startTimer(labels?: LabelValues<T>): (end?: LabelValues<T>) => number {
    const start = process.hrtime.bigint();
    return (end) => {
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      this.record({ ...labels, ...end } as LabelValues<T>, s);
      return s;
    };
  }

  labels(...args: LabelArgs<T>): { observe(v: number): void; startTimer(): (end?: LabelValues<T>) => number } {
    const l = labelsFrom(this.labelNames, args);
    return { observe: (v) => this.record(l, v), startTimer: () => this.startTimer(l) };
  }

  protected zeroAt(c: number): void {
    this.w.zeroCount(c);
    this.w.set(c + 1, 0);
    for (let s = 0; s < this.slots; s++) this.clearSlot(c + 2 + s * SLOT_CELLS, this.sliceMs > 0 ? -1 : 0);
  }
}
