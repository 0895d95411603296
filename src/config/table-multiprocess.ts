import { enumVar, keyValueVar, msVar, stringVar } from './kinds';
import type { VarSpec } from './types';

/**
 * The multiprocess rows of the one table (table.ts spreads them in at their place). Apart because
 * the Prometheus drop-in, required without the register hook, reads them at require time
 * (src/multiprocess/standalone.ts) and must not pay for compiling the whole table.
 */
export const MULTIPROCESS_VARS = {
  OTEL_NODE_MULTIPROCESS_METRICS: enumVar({
    group: 'multiprocess',
    standard: false,
    allowed: ['per-process', 'aggregated', 'off'],
    default: 'per-process',
    description:
      'Metrics of worker threads and child processes (cluster workers, child_process.fork) (docs/multiprocess-metrics.md). Worker threads always land in their process; the Prometheus endpoint is served by the topmost process alone, with everything merged. per-process: each process exports its own OTLP (its own service.instance.id). aggregated: the topmost process exports everyone\'s OTLP too. off: every process and thread on its own, as upstream (worker threads export nothing).',
  }),
  OTEL_NODE_MULTIPROCESS_INTERVAL: msVar({
    group: 'multiprocess',
    standard: false,
    min: 100,
    default: 1000,
    description: "Milliseconds between a child process's snapshots to its parent (and between runs of a worker thread's observable callbacks). A child killed without warning loses at most this long of its changes.",
  }),
  OTEL_NODE_MULTIPROCESS_GAUGE_POLICY: enumVar({
    group: 'multiprocess',
    standard: false,
    allowed: ['pid', 'sum', 'last', 'min', 'max'],
    default: 'pid',
    description:
      'How a gauge recorded in several processes or threads is merged: pid keeps one series per contributor (with process.pid, and thread.id for a worker thread); sum, last, min or max make one. Counters, up-down counters and histograms always add.',
  }),
  OTEL_NODE_MULTIPROCESS_GAUGE_POLICIES: keyValueVar({
    group: 'multiprocess',
    standard: false,
    description: 'Per-gauge policies over OTEL_NODE_MULTIPROCESS_GAUGE_POLICY, as name=policy pairs; a name may end in * (nodejs.eventloop.*=max). The longest match wins.',
  }),
  OTEL_NODE_MULTIPROCESS_PARENT: stringVar({
    group: 'multiprocess',
    standard: false,
    description:
      'Set by otel-autoinstrument, not by you: a process that collects its children\'s metrics puts its pid here, and its children inherit it. A child whose parent pid matches sends its metrics up instead of serving Prometheus.',
  }),
} as const satisfies Record<string, VarSpec<unknown>>;
