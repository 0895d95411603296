import type { Attributes, BatchObservableResult, Gauge, Histogram, Meter, ObservableCounter, ObservableUpDownCounter } from '@opentelemetry/api';
import { getHeapSpaceStatistics } from 'node:v8';
import { sep } from 'node:path';
import { errorText, type Logger } from '../log';
import { EventLoopSampler, eventLoopTime, type DelayStats } from './eventloop';
import { GcObserver } from './gc';
import * as N from './names';
import type { RuntimePlan } from './plan';
import { ReclaimedBytes } from './reclaimed';

export type { RuntimePlan } from './plan';
export { runtimePlan } from './plan';

const DELAY_KEYS: ReadonlyArray<keyof DelayStats> = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'];
const DELAY_TEXT: Record<keyof DelayStats, string> = { min: 'minimum', max: 'maximum', mean: 'mean', stddev: 'standard deviation', p50: '50th percentile', p90: '90th percentile', p99: '99th percentile' };

/** Is upstream's runtime-node instrumentation loaded by the app's own code? Then it owns these names. */
function upstreamLoaded(): boolean {
  const marker = `${sep}@opentelemetry${sep}instrumentation-runtime-node${sep}`;
  return Object.keys(require.cache).some((k) => k.includes(marker));
}

/**
 * GC, heap, event loop and active resources, named as the semantic conventions say.
 * - The GC observer and the native event-loop sampler start with the process (GCs buffered until
 *   the metrics SDK exists), so the first second is measured too; the rest starts with the SDK.
 * - Windowed values (delay summary, utilization) are computed once per window by one sampler and
 *   recorded as gauges, so every metric reader (OTLP and Prometheus together) reports the same
 *   full window instead of each resetting the other's.
 */
export class RuntimeMetrics {
  private readonly gc: GcObserver | undefined;
  private readonly sampler: EventLoopSampler | undefined;
  private reclaimed: ReclaimedBytes | undefined;
  private windowTimer: NodeJS.Timeout | undefined;
  private closeWindow: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly plan: RuntimePlan,
    private readonly log: Logger,
  ) {
    if (plan.groups.has('gc') || plan.extras.has('gc_time')) {
      this.gc = new GcObserver(plan.extras.has('gc_time'));
      this.gc.start();
    }
    if (plan.extras.has('gc_reclaimed')) {
      this.reclaimed = new ReclaimedBytes();
      this.reclaimed.start();
    }
    // Native and cheap: sampling from the start puts a stall of the first second in the first window.
    if (plan.groups.has('eventloop')) {
      this.sampler = new EventLoopSampler(plan.resolutionMs, N.EVENTLOOP_DELAY_BUCKETS);
      this.sampler.start();
    }
  }

  /**
   * Called while the metrics SDK is being built, before its readers start their timers: a window
   * timer created first fires first when the periods are equal, so a periodic export reports the
   * window that just closed rather than the one before.
   */
  beforeReaders(): void {
    if (this.stopped || !(this.plan.groups.has('eventloop') || this.plan.extras.has('gc_reclaimed'))) return;
    this.windowTimer = setInterval(() => {
      try {
        this.closeWindow?.();
      } catch (err) {
        this.log.debug(`runtime metrics window: ${errorText(err)}`);
      }
    }, this.plan.windowMs);
    this.windowTimer.unref();
  }

  /** Creates the instruments on the real meter and starts the samplers. */
  attach(meter: Meter): void {
    if (this.stopped) return;
    if (upstreamLoaded()) {
      this.log.warn('the app loads @opentelemetry/instrumentation-runtime-node itself, which emits the same v8js.* and nodejs.* metrics: otel-autoinstrument\'s runtime metrics stay off (OTEL_NODE_RUNTIME_METRICS=none silences this)');
      this.stop();
      return;
    }
    const { groups, extras } = this.plan;
    const window: Array<() => void> = [];
    if (groups.has('gc') && this.gc) {
      const h = meter.createHistogram(N.GC_DURATION, { description: 'Garbage collection duration.', unit: 's', advice: { explicitBucketBoundaries: N.GC_DURATION_BUCKETS } });
      const attrs = new Map<string, Attributes>();
      this.gc.attach((type, seconds) => {
        let a = attrs.get(type);
        if (a === undefined) attrs.set(type, (a = { [N.GC_TYPE]: type }));
        h.record(seconds, a);
      });
    } else this.gc?.attach(() => undefined);
    if (extras.has('gc_time') && this.gc) {
      const gc = this.gc;
      meter
        .createObservableCounter(N.GC_TIME, { description: 'Cumulative time spent in garbage collection (kept in integer nanoseconds).', unit: 's' })
        .addCallback((r) => {
          for (const [type, ns] of gc.totalNs) r.observe(ns / 1e9, { [N.GC_TYPE]: type });
        });
    }
    const r = this.reclaimed;
    if (r) {
      const h = meter.createHistogram(N.GC_RECLAIMED, { description: 'Heap bytes freed by each garbage collection.', unit: 'By', advice: { explicitBucketBoundaries: N.GC_RECLAIMED_BUCKETS } });
      window.push(() => {
        for (const [type, bytes] of r.take()) h.record(bytes, { [N.GC_TYPE]: type });
      });
    }
    if (groups.has('heap')) this.heap(meter);
    if (groups.has('resources')) this.resources(meter);
    if (this.sampler) window.push(this.eventLoop(meter, this.sampler));
    this.closeWindow = () => window.forEach((f) => f());
  }

  private heap(meter: Meter): void {
    const used = meter.createObservableUpDownCounter(N.HEAP_USED, { description: 'Heap memory size allocated.', unit: 'By' });
    const size = meter.createObservableUpDownCounter(N.HEAP_SPACE_SIZE, { description: 'Total heap memory size pre-allocated for a heap space.', unit: 'By' });
    const available = meter.createObservableUpDownCounter(N.HEAP_SPACE_AVAILABLE, { description: 'Heap space available size.', unit: 'By' });
    const physical = meter.createObservableUpDownCounter(N.HEAP_SPACE_PHYSICAL, { description: 'Committed size of a heap space.', unit: 'By' });
    meter.addBatchObservableCallback(
      (r: BatchObservableResult) => {
        for (const s of getHeapSpaceStatistics()) {
          const a = { [N.HEAP_SPACE_NAME]: s.space_name };
          r.observe(used, s.space_used_size, a);
          r.observe(size, s.space_size, a);
          r.observe(available, s.space_available_size, a);
          r.observe(physical, s.physical_space_size, a);
        }
      },
      [used, size, available, physical],
    );
  }

  private resources(meter: Meter): void {
    const active: ObservableUpDownCounter = meter.createObservableUpDownCounter(N.RESOURCE_ACTIVE, { description: 'Number of active resources keeping the event loop alive, by type.', unit: '{resource}' });
    // A type seen once keeps being reported (as 0 when gone), so its series ends at 0, not stale.
    const seen = new Set<string>();
    active.addCallback((r) => {
      const counts = new Map<string, number>();
      for (const t of process.getActiveResourcesInfo()) counts.set(t, (counts.get(t) ?? 0) + 1);
      for (const t of counts.keys()) seen.add(t);
      for (const t of seen) r.observe(counts.get(t) ?? 0, { [N.RESOURCE_TYPE]: t });
    });
  }

  /** Returns what closes a window. */
  private eventLoop(meter: Meter, sampler: EventLoopSampler): () => void {
    const gauges = new Map<keyof DelayStats, Gauge>();
    for (const k of DELAY_KEYS) gauges.set(k, meter.createGauge(`${N.EVENTLOOP_DELAY_PREFIX}${k}`, { description: `Event loop ${DELAY_TEXT[k]} delay.`, unit: 's' }));
    const utilization = meter.createGauge(N.EVENTLOOP_UTILIZATION, { description: 'Event loop utilization.', unit: '1' });
    const time: ObservableCounter = meter.createObservableCounter(N.EVENTLOOP_TIME, { description: 'Cumulative duration of time the event loop has been in each state.', unit: 's' });
    time.addCallback((r) => {
      const t = eventLoopTime();
      r.observe(t.active, { [N.EVENTLOOP_STATE]: 'active' });
      r.observe(t.idle, { [N.EVENTLOOP_STATE]: 'idle' });
    });
    const histogram: Histogram = meter.createHistogram(N.EVENTLOOP_DELAY_HISTOGRAM, {
      description: 'Event loop delay: one sample per resolution tick, bucket counts exact.',
      unit: 's',
      advice: { explicitBucketBoundaries: N.EVENTLOOP_DELAY_BUCKETS },
    });
    return () => {
      const w = sampler.closeWindow();
      // The API records one value at a time: each bucket's samples as a value inside that bucket.
      w.counts.forEach((n, i) => {
        const v = w.representatives[i] ?? 0;
        for (let k = 0; k < n; k++) histogram.record(v);
      });
      if (w.stats) for (const k of DELAY_KEYS) gauges.get(k)?.record(w.stats[k]);
      if (w.utilization !== undefined) utilization.record(w.utilization);
    };
  }

  /** Closes the current window and counts the GCs V8 has not delivered yet, before the final export. */
  flush(): void {
    if (this.stopped) return;
    try {
      this.gc?.drain();
      this.closeWindow?.();
    } catch (err) {
      this.log.debug(`runtime metrics flush: ${errorText(err)}`);
    }
  }

  stop(): void {
    this.stopped = true;
    this.gc?.stop();
    this.sampler?.stop();
    this.reclaimed?.stop();
    if (this.windowTimer) clearInterval(this.windowTimer);
  }

  /** GCs not counted because the buffer before the SDK existed was full. */
  get droppedBeforeStart(): number {
    return this.gc?.dropped ?? 0;
  }
}
