import type {
  Attributes,
  BatchObservableCallback,
  Counter,
  Gauge,
  Histogram,
  Meter,
  MeterOptions,
  MeterProvider,
  MetricOptions,
  Observable,
  ObservableCallback,
  ObservableResult,
  UpDownCounter,
} from '@opentelemetry/api';
import { attrKey } from './fold';
import { cellCount, initCells, type InstrumentMeta, ShardWriter } from './shard';
import type { Kind } from './snapshot';

/** The SDK's default explicit buckets, so a histogram has the same buckets in every thread. */
export const DEFAULT_BOUNDS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

type Scope = InstrumentMeta['scope'];

/**
 * Attribute sets to series without building a string on the hot path: a trie walked by each
 * key and value as written (strings from an app's objects keep their hash, so each step is one
 * cheap Map lookup). 200 and "200" are different keys, as in the SDK. A miss falls back to the
 * order-free key, so the same attributes in another key order find the same series.
 */
class Node {
  readonly next = new Map<unknown, Node>();
  /** The series' first cell; -2 until this path has been resolved. */
  cell = -2;
}

function isPrimitive(v: unknown): boolean {
  return v === null || (typeof v !== 'object' && typeof v !== 'function');
}

/** One instrument's series in this thread's shard. Instruments of the same name share it. */
export class ShardSeries {
  private readonly cells = new Map<string, number>();
  /** By the order-free key: the same attributes written in another key order are the same series. */
  private readonly canonical = new Map<string, number>();
  private readonly n: number;

  constructor(
    private readonly store: ThreadStore,
    readonly meta: InstrumentMeta,
    /** The instrument's one cell: 1 once a newer instrument of the same name replaced it. */
    readonly flagCell: number,
  ) {
    this.n = cellCount(meta);
  }

  private readonly root = new Node();
  /** Attribute sets with array values: keyed by their JSON (an array is a new object each time). */
  private readonly byJson = new Map<string, number>();

  /** The series' first cell, made on first use; -1 when the shard is full. */
  cell(attrs: Attributes | undefined): number {
    let node: Node | undefined = this.root;
    if (attrs !== undefined) {
      for (const name in attrs) {
        const v = attrs[name];
        if (!isPrimitive(v)) return this.cellByJson(attrs);
        node = node.next.get(name)?.next.get(v);
        if (node === undefined) break;
      }
    }
    if (node !== undefined && node.cell !== -2) return node.cell;
    const c = this.add(attrs);
    // Only sets that made a series get a path: when the shard is full, new sets leave no trace.
    if (c >= 0) this.path(attrs).cell = c;
    return c;
  }

  private path(attrs: Attributes | undefined): Node {
    let node = this.root;
    for (const name in attrs) {
      let byName = node.next.get(name);
      if (byName === undefined) node.next.set(name, (byName = new Node()));
      const v = attrs[name];
      let byValue = byName.next.get(v);
      if (byValue === undefined) byName.next.set(v, (byValue = new Node()));
      node = byValue;
    }
    return node;
  }

  private cellByJson(attrs: Attributes): number {
    const key = JSON.stringify(attrs);
    const c = this.byJson.get(key) ?? this.add(attrs);
    if (c >= 0) this.byJson.set(key, c);
    return c;
  }

  /**
   * The Prometheus drop-in's lookup: label values in labelNames order walk a trie of their own;
   * a miss builds the string key (200 and "200" are one series there, as in prom-client).
   */
  cellByLabels(names: readonly string[], labels: Readonly<Record<string, string | number | undefined>> | undefined, attrs: () => Attributes): number {
    let node: Node | undefined = this.labelRoot;
    for (let i = 0; i < names.length && node !== undefined; i++) node = node.next.get(labels?.[names[i]!]);
    if (node !== undefined && node.cell !== -2) return node.cell;
    let key = '';
    for (const n of names) {
      const v = labels?.[n];
      key += v === undefined ? '\u0002\u0001' : `${v}\u0001`;
    }
    const c = this.cellByKey(key, attrs);
    if (c >= 0) {
      let at = this.labelRoot;
      for (const n of names) {
        const v = labels?.[n];
        let next = at.next.get(v);
        if (next === undefined) at.next.set(v, (next = new Node()));
        at = next;
      }
      at.cell = c;
    }
    return c;
  }

  private readonly labelRoot = new Node();

  /** The cell of an attribute set already keyed by the caller. */
  cellByKey(key: string, attrs: () => Attributes): number {
    const c = this.cells.get(key);
    if (c !== undefined) return c;
    const made = this.add(attrs());
    if (made >= 0) this.cells.set(key, made);
    return made;
  }

  private add(attrs: Attributes | undefined): number {
    const canon = attrKey(attrs ?? {});
    const known = this.canonical.get(canon);
    if (known !== undefined) return known;
    const w = this.store.writer;
    const c = w.addRecord({ t: 's', i: this.meta.id, a: attrs ?? {}, start: Date.now() }, this.n, (first) => initCells(this.meta, w, first));
    if (c < 0) this.store.overflow(this.meta.name);
    else this.canonical.set(canon, c);
    return c;
  }

  /** The first cell of every series made in this thread. */
  allCells(): IterableIterator<number> {
    return this.canonical.values();
  }

  /** Series of this instrument in this thread so far. */
  get size(): number {
    return this.canonical.size;
  }


}

/**
 * A thread's store: its shard and the instruments registered in it. Worker threads write their
 * OpenTelemetry metrics here (ThreadMeterProvider); the main thread reads every shard.
 */
export class ThreadStore {
  readonly writer = new ShardWriter();
  private readonly instruments = new Map<string, ShardSeries>();
  private nextId = 0;
  private warned = false;

  constructor(private readonly warn: (w: string) => void) {}

  /** The instrument's series, registering it the first time its scope and name are seen. */
  instrument(scope: Scope, name: string, kind: Kind, opts: MetricOptions | undefined, bounds?: number[], extra?: Pick<InstrumentMeta, 'policy' | 'summary' | 'exemplar' | 'hidden'>, fresh = false): ShardSeries | undefined {
    const key = `${scope.name}\u0000${scope.version ?? ''}\u0000${name}`;
    let s = this.instruments.get(key);
    // A new prom-client metric object under a used name starts from nothing, whatever its shape:
    // the old one's series stop being read (its object may still write, unseen).
    if (s !== undefined && fresh) {
      this.writer.set(s.flagCell, 1);
      s = undefined;
    }
    if (s === undefined) {
      const meta: InstrumentMeta = { t: 'i', id: this.nextId++, scope, name, description: opts?.description ?? '', unit: opts?.unit ?? '', kind, int: opts?.valueType === 0, ...(bounds ? { bounds } : {}), ...extra };
      const flag = this.writer.addRecord(meta, 1);
      if (flag < 0) {
        this.overflow(name);
        return undefined;
      }
      s = new ShardSeries(this, meta, flag);
      this.instruments.set(key, s);
    }
    return s;
  }

  overflow(name: string): void {
    if (this.warned) return;
    this.warned = true;
    this.warn(`multiprocess metrics: this thread's metric store is full (at ${name}); new series in this thread are not recorded`);
  }
}

const finite = (v: number): boolean => typeof v === 'number' && Number.isFinite(v);

class ThreadMeter implements Meter {
  constructor(
    private readonly store: ThreadStore,
    private readonly scope: Scope,
    private readonly observables: ObservableRunner,
  ) {}

  private series(name: string, kind: Kind, opts?: MetricOptions, bounds?: number[]): ShardSeries | undefined {
    return this.store.instrument(this.scope, name, kind, opts, bounds);
  }

  createCounter(name: string, options?: MetricOptions): Counter {
    const s = this.series(name, 'counter', options);
    const w = this.store.writer;
    const int = options?.valueType === 0;
    return {
      add(v, attrs) {
        if (s === undefined || !finite(v) || v < 0) return;
        const c = s.cell(attrs);
        if (c >= 0) w.add(c, int ? Math.trunc(v) : v);
      },
    };
  }

  createUpDownCounter(name: string, options?: MetricOptions): UpDownCounter {
    const s = this.series(name, 'updown', options);
    const w = this.store.writer;
    const int = options?.valueType === 0;
    return {
      add(v, attrs) {
        if (s === undefined || !finite(v)) return;
        const c = s.cell(attrs);
        if (c >= 0) w.add(c, int ? Math.trunc(v) : v);
      },
    };
  }

  createGauge(name: string, options?: MetricOptions): Gauge {
    const s = this.series(name, 'gauge', options);
    const w = this.store.writer;
    return {
      record(v, attrs) {
        if (s === undefined || !finite(v)) return;
        const c = s.cell(attrs);
        if (c < 0) return;
        w.set(c, v);
        w.set(c + 1, Date.now());
      },
    };
  }

  createHistogram(name: string, options?: MetricOptions): Histogram {
    const bounds = options?.advice?.explicitBucketBoundaries ?? DEFAULT_BOUNDS;
    const s = this.series(name, 'histogram', options, bounds);
    const w = this.store.writer;
    const n = bounds.length;
    return {
      record(v, attrs) {
        // Negative values are dropped as the SDK drops them; non-finite ones too (the SDK keeps
        // +Infinity, but an infinite sum cannot travel in a JSON snapshot).
        if (s === undefined || !finite(v) || v < 0) return;
        const c = s.cell(attrs);
        if (c < 0) return;
        let i = 0;
        while (i < n && v > bounds[i]!) i++;
        w.count(c + i);
        w.add(c + n + 1, v);
        if (v < w.get(c + n + 2)) w.set(c + n + 2, v);
        if (v > w.get(c + n + 3)) w.set(c + n + 3, v);
      },
    };
  }

  createObservableCounter(name: string, options?: MetricOptions): Observable {
    return this.observables.add(this.series(name, 'counter', options));
  }

  createObservableUpDownCounter(name: string, options?: MetricOptions): Observable {
    return this.observables.add(this.series(name, 'updown', options));
  }

  createObservableGauge(name: string, options?: MetricOptions): Observable {
    return this.observables.add(this.series(name, 'gauge', options));
  }

  addBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    this.observables.batch.add(callback);
    void observables;
  }

  removeBatchObservableCallback(callback: BatchObservableCallback): void {
    this.observables.batch.delete(callback);
  }
}

/** An observable instrument in a thread: its callbacks run on the thread's own timer. */
class ThreadObservable implements Observable {
  readonly callbacks = new Set<ObservableCallback>();
  constructor(readonly series: ShardSeries | undefined) {}
  addCallback(cb: ObservableCallback): void {
    this.callbacks.add(cb);
  }
  removeCallback(cb: ObservableCallback): void {
    this.callbacks.delete(cb);
  }
}

/** Runs the thread's observable callbacks at the forwarding interval and stores what they observe. */
class ObservableRunner {
  private readonly all: ThreadObservable[] = [];
  readonly batch = new Set<BatchObservableCallback>();

  constructor(private readonly store: ThreadStore) {}

  add(series: ShardSeries | undefined): Observable {
    const o = new ThreadObservable(series);
    this.all.push(o);
    return o;
  }

  private observe(o: ThreadObservable, v: number, attrs?: Attributes): void {
    if (o.series === undefined || !finite(v)) return;
    const c = o.series.cell(attrs);
    if (c < 0) return;
    this.store.writer.set(c, v);
    if (o.series.meta.kind === 'gauge') this.store.writer.set(c + 1, Date.now());
  }

  /** One round of callbacks; a throwing or rejecting callback is skipped, never thrown into the thread. */
  run(): void {
    for (const o of this.all) {
      const result: ObservableResult = { observe: (v, a) => this.observe(o, v, a) };
      for (const cb of o.callbacks) guard(() => cb(result));
    }
    for (const cb of this.batch) {
      guard(() => cb({ observe: (obs, v, a) => (obs instanceof ThreadObservable ? this.observe(obs, v, a) : undefined) }));
    }
  }
}

function guard(f: () => unknown): void {
  try {
    const r = f();
    if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).catch === 'function') (r as Promise<unknown>).catch(() => undefined);
  } catch {
    // an app callback's own error; the other callbacks still run
  }
}

/** The global MeterProvider of a worker thread: every meter writes into this thread's shard. */
export class ThreadMeterProvider implements MeterProvider {
  private readonly meters = new Map<string, ThreadMeter>();
  readonly observables: ObservableRunner;

  constructor(readonly store: ThreadStore) {
    this.observables = new ObservableRunner(store);
  }

  getMeter(name: string, version?: string, options?: MeterOptions): Meter {
    const key = `${name}\u0000${version ?? ''}\u0000${options?.schemaUrl ?? ''}`;
    let m = this.meters.get(key);
    if (m === undefined) {
      const scope: Scope = { name, ...(version !== undefined ? { version } : {}), ...(options?.schemaUrl !== undefined ? { schemaUrl: options.schemaUrl } : {}) };
      m = new ThreadMeter(this.store, scope, this.observables);
      this.meters.set(key, m);
    }
    return m;
  }
}
