import { monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { Counter, Gauge, Histogram } from './metrics';
import { globalRegistry, type Registry } from './registry';

export interface DefaultMetricsCollectorConfiguration {
  register?: Registry;
  prefix?: string;
  gcDurationBuckets?: number[];
  /** Milliseconds between event-loop delay samples (prom-client's option; 10 by default). */
  eventLoopMonitoringPrecision?: number;
}

const GC_KINDS: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };

type Process = NodeJS.Process & { _getActiveHandles?(): unknown[]; _getActiveRequests?(): unknown[]; getActiveResourcesInfo?(): string[] };

/** Keeps collectDefaultMetrics() to one set per thread, as prom-client warns on a second call. */
const STARTED = Symbol.for('otel-autoinstrument.prometheus-default-metrics');

/**
 * prom-client's default metrics, under its names, in the drop-in's store: so in a cluster the
 * primary serves every worker's. Process-wide values merge per the aggregator noted on each
 * (docs/prometheus-drop-in.md): memory, handles and CPU add up; the event loop's lag is the worst
 * worker's; the start time the earliest. Timers and observers never keep the process alive.
 */
export function collectDefaultMetrics(config: DefaultMetricsCollectorConfiguration = {}): void {
  const g = globalThis as { [STARTED]?: boolean };
  if (g[STARTED] === true) return;
  g[STARTED] = true;
  const registers = [config.register ?? globalRegistry];
  const p = config.prefix ?? '';
  const proc = process as Process;

  let cpu = process.cpuUsage();
  const user = new Counter({ name: `${p}process_cpu_user_seconds_total`, help: 'Total user CPU time spent in seconds.', registers });
  const system = new Counter({ name: `${p}process_cpu_system_seconds_total`, help: 'Total system CPU time spent in seconds.', registers });
  const total: Counter = new Counter({
    name: `${p}process_cpu_seconds_total`,
    help: 'Total user and system CPU time spent in seconds.',
    registers,
    collect: () => {
      const now = process.cpuUsage();
      const du = Math.max(0, (now.user - cpu.user) / 1e6);
      const ds = Math.max(0, (now.system - cpu.system) / 1e6);
      cpu = now;
      user.inc(du);
      system.inc(ds);
      total.inc(du + ds);
    },
  });
  user.inc(cpu.user / 1e6);
  system.inc(cpu.system / 1e6);
  total.inc((cpu.user + cpu.system) / 1e6);

  const started = Math.round(Date.now() / 1000 - process.uptime());
  new Gauge({ name: `${p}process_start_time_seconds`, help: 'Start time of the process since unix epoch in seconds.', registers, aggregator: 'min' }).set(started);
  const rss: Gauge = new Gauge({ name: `${p}process_resident_memory_bytes`, help: 'Resident memory size in bytes.', registers, collect: () => rss.set(process.memoryUsage.rss()) });

  const heap = { total: new Gauge({ name: `${p}nodejs_heap_size_total_bytes`, help: 'Process heap size from Node.js in bytes.', registers }), used: new Gauge({ name: `${p}nodejs_heap_size_used_bytes`, help: 'Process heap size used from Node.js in bytes.', registers }) };
  const external: Gauge = new Gauge({
    name: `${p}nodejs_external_memory_bytes`,
    help: 'Node.js external memory size in bytes.',
    registers,
    collect: () => {
      const m = process.memoryUsage();
      heap.total.set(m.heapTotal);
      heap.used.set(m.heapUsed);
      external.set(m.external);
    },
  });
  const spaces = {
    total: new Gauge({ name: `${p}nodejs_heap_space_size_total_bytes`, help: 'Process heap space size total from Node.js in bytes.', labelNames: ['space'], registers }),
    used: new Gauge({ name: `${p}nodejs_heap_space_size_used_bytes`, help: 'Process heap space size used from Node.js in bytes.', labelNames: ['space'], registers }),
    available: new Gauge({ name: `${p}nodejs_heap_space_size_available_bytes`, help: 'Process heap space size available from Node.js in bytes.', labelNames: ['space'], registers }),
  };
  const handles = new Gauge({ name: `${p}nodejs_active_handles_total`, help: 'Total number of active handles.', registers });
  const requests = new Gauge({ name: `${p}nodejs_active_requests_total`, help: 'Total number of active requests.', registers });
  const resources: Gauge = new Gauge({
    name: `${p}nodejs_active_resources_total`,
    help: 'Total number of active resources.',
    registers,
    collect: () => {
      for (const s of getHeapSpaceStatistics()) {
        const space = s.space_name.replace(/_space$/, '');
        spaces.total.set({ space }, s.space_size);
        spaces.used.set({ space }, s.space_used_size);
        spaces.available.set({ space }, s.space_available_size);
      }
      handles.set(proc._getActiveHandles?.().length ?? 0);
      requests.set(proc._getActiveRequests?.().length ?? 0);
      resources.set(proc.getActiveResourcesInfo?.().length ?? 0);
    },
  });

  const delay = monitorEventLoopDelay({ resolution: config.eventLoopMonitoringPrecision ?? 10 });
  delay.enable();
  const lag = (name: string, help: string): Gauge => new Gauge({ name: `${p}nodejs_eventloop_lag_${name}seconds`, help, registers, aggregator: 'max' });
  const lags = { min: lag('min_', 'The minimum recorded event loop delay.'), max: lag('max_', 'The maximum recorded event loop delay.'), mean: lag('mean_', 'The mean of the recorded event loop delays.'), stddev: lag('stddev_', 'The standard deviation of the recorded event loop delays.'), p50: lag('p50_', 'The 50th percentile of the recorded event loop delays.'), p90: lag('p90_', 'The 90th percentile of the recorded event loop delays.'), p99: lag('p99_', 'The 99th percentile of the recorded event loop delays.') };
  const lagNow: Gauge = new Gauge({
    name: `${p}nodejs_eventloop_lag_seconds`,
    help: 'Lag of event loop in seconds.',
    registers,
    aggregator: 'max',
    collect: () => {
      if (delay.count > 0) {
        lags.min.set(delay.min / 1e9);
        lags.max.set(delay.max / 1e9);
        lags.mean.set(delay.mean / 1e9);
        lags.stddev.set(delay.stddev / 1e9);
        lags.p50.set(delay.percentile(50) / 1e9);
        lags.p90.set(delay.percentile(90) / 1e9);
        lags.p99.set(delay.percentile(99) / 1e9);
        lagNow.set(delay.mean / 1e9);
      }
      delay.reset();
    },
  });

  const [major, minor, patch] = process.versions.node.split('.').map(Number);
  new Gauge({ name: `${p}nodejs_version_info`, help: 'Node.js version info.', labelNames: ['version', 'major', 'minor', 'patch'], registers, aggregator: 'last' }).set({ version: process.version, major: major ?? 0, minor: minor ?? 0, patch: patch ?? 0 }, 1);

  const gc = new Histogram({ name: `${p}nodejs_gc_duration_seconds`, help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.', labelNames: ['kind'], buckets: config.gcDurationBuckets ?? [0.001, 0.01, 0.1, 1, 2, 5], registers });
  const observer = new PerformanceObserver((list) => {
    try {
      for (const e of list.getEntries() as Array<PerformanceEntry & { detail?: { kind?: number } }>) gc.observe({ kind: GC_KINDS[e.detail?.kind ?? 0] ?? 'unknown' }, e.duration / 1000);
    } catch {
      // never into the app from an observer callback
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  // An observer does not keep the process alive; the delay monitor is a native sampler.
}
