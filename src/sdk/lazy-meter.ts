import type {
  BatchObservableCallback,
  BatchObservableResult,
  Counter,
  Gauge,
  Histogram,
  Meter,
  MetricOptions,
  Observable,
  ObservableCallback,
  UpDownCounter,
} from '@opentelemetry/api';

/**
 * A Meter that creates nothing until the metrics SDK exists. Instrumentations create their
 * instruments in their constructors; with this, loading an instrumentation costs no SDK. Sync
 * instruments build the SDK on their first measurement; observable ones wait for `materialize()`,
 * which the SDK's owner calls when it builds the SDK (first measurement, warm-up timer, or never).
 */
export class LazyMeter implements Meter {
  private real: Meter | undefined;
  private readonly pending: Array<(m: Meter) => void> = [];

  constructor(
    private readonly make: () => Meter,
    /** Builds the SDK (which calls materialize() on every LazyMeter); returns when done. */
    private readonly ensure: () => void,
  ) {}

  /** Creates the real meter and replays what was registered before it existed. */
  materialize(): Meter {
    if (this.real === undefined) {
      this.real = this.make();
      for (const replay of this.pending.splice(0)) replay(this.real);
    }
    return this.real;
  }

  private now(): Meter {
    if (this.real === undefined) this.ensure();
    return this.materialize();
  }

  private sync<T>(create: (m: Meter) => T): () => T {
    let inst: T | undefined;
    return () => (inst ??= create(this.now()));
  }

  createCounter(name: string, options?: MetricOptions): Counter {
    const get = this.sync((m) => m.createCounter(name, options));
    return { add: (v, a, c) => get().add(v, a, c) };
  }

  createUpDownCounter(name: string, options?: MetricOptions): UpDownCounter {
    const get = this.sync((m) => m.createUpDownCounter(name, options));
    return { add: (v, a, c) => get().add(v, a, c) };
  }

  createHistogram(name: string, options?: MetricOptions): Histogram {
    const get = this.sync((m) => m.createHistogram(name, options));
    return { record: (v, a, c) => get().record(v, a, c) };
  }

  createGauge(name: string, options?: MetricOptions): Gauge {
    const get = this.sync((m) => m.createGauge(name, options));
    return { record: (v, a, c) => get().record(v, a, c) };
  }

  createObservableGauge(name: string, options?: MetricOptions): Observable {
    return this.observable((m) => m.createObservableGauge(name, options));
  }

  createObservableCounter(name: string, options?: MetricOptions): Observable {
    return this.observable((m) => m.createObservableCounter(name, options));
  }

  createObservableUpDownCounter(name: string, options?: MetricOptions): Observable {
    return this.observable((m) => m.createObservableUpDownCounter(name, options));
  }

  addBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    this.later((m) => m.addBatchObservableCallback(translate(callback), observables.map(realOf)));
  }

  removeBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    this.later((m) => m.removeBatchObservableCallback(translate(callback), observables.map(realOf)));
  }

  private observable(create: (m: Meter) => Observable): Observable {
    const o = new LazyObservable();
    this.later((m) => o.attach(create(m)));
    return o;
  }

  private later(f: (m: Meter) => void): void {
    if (this.real !== undefined) f(this.real);
    else this.pending.push(f);
  }
}

class LazyObservable implements Observable {
  real: Observable | undefined;
  private readonly callbacks = new Set<ObservableCallback>();

  attach(real: Observable): void {
    this.real = real;
    for (const cb of this.callbacks) real.addCallback(cb);
    this.callbacks.clear();
  }

  addCallback(cb: ObservableCallback): void {
    if (this.real) this.real.addCallback(cb);
    else this.callbacks.add(cb);
  }

  removeCallback(cb: ObservableCallback): void {
    if (this.real) this.real.removeCallback(cb);
    else this.callbacks.delete(cb);
  }
}

function realOf(o: Observable): Observable {
  return o instanceof LazyObservable && o.real !== undefined ? o.real : o;
}

// The same wrapper for the same callback, so that remove finds what add registered.
const translated = new WeakMap<BatchObservableCallback, BatchObservableCallback>();

/** Batch callbacks observe our stand-ins; the SDK knows only the real observables. */
function translate(cb: BatchObservableCallback): BatchObservableCallback {
  let t = translated.get(cb);
  if (t === undefined) {
    t = (result: BatchObservableResult) => cb({ observe: (o, v, a) => result.observe(realOf(o), v, a) });
    translated.set(cb, t);
  }
  return t;
}
