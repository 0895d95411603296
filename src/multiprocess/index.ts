import type { IMetricReader, MetricReader, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Values } from '../config/table';
import { errorText, type Logger } from '../log';
import type { DeltaState, Folded } from './fold';
import type { Hub, HubSettings, Include } from './hub';

export type { Include } from './hub';

// Only types above: the hub and its modules (worker_threads, the
// channels, the folding code) load when the hub is made, not when the register hook starts.
const hubModule = (): typeof import('./hub') => require('./hub') as typeof import('./hub');
const foldModule = (): typeof import('./fold') => require('./fold') as typeof import('./fold');

/**
 * Metrics across worker threads and child processes (docs/multiprocess-metrics.md), for the
 * register hook's SDK. Made in the main thread of a process that exports metrics. Its hub is made
 * by start(), which the register hook calls before the app can start a thread or a process (at
 * the app's first load of worker_threads, child_process or cluster, src/multiprocess/needed.ts)
 * or at the warm-up, whichever comes first, or by the first use below. The transport (threads'
 * shards, children's snapshots, sending up) is the process's one Hub, shared with the Prometheus
 * drop-in: made here, or taken over when the drop-in was required first. A process whose parent
 * collects is a child: it sends its own metrics, its threads' and its children's up, and does not
 * serve Prometheus.
 */
export class Multiprocess {
  private made: Hub | undefined;
  private failed = false;

  constructor(
    private readonly values: Values,
    private readonly log: Logger,
  ) {}

  /** Makes the hub now, once; never throws: on failure each process and thread exports on its own. */
  start(): Hub | undefined {
    if (this.made !== undefined || this.failed) return this.made;
    try {
      const { existingHub, processHub } = hubModule();
      const log = this.log;
      const settings: HubSettings = {
        policy: (require('./policy') as typeof import('./policy')).gaugePolicies(this.values.OTEL_NODE_MULTIPROCESS_GAUGE_POLICY, this.values.OTEL_NODE_MULTIPROCESS_GAUGE_POLICIES, (w) => log.warn(w)),
        // OTEL_NODE_MULTIPROCESS_INTERVAL (its table default is 1000; the type allows none).
        intervalMs: this.values.OTEL_NODE_MULTIPROCESS_INTERVAL ?? 1000,
        parentMarker: this.values.OTEL_NODE_MULTIPROCESS_PARENT,
        log,
      };
      this.made = existingHub()?.adopt(settings) ?? processHub(() => settings);
    } catch (err) {
      this.failed = true;
      this.log.warn(`multiprocess metrics could not start (${errorText(err)}); each process and thread exports on its own`);
    }
    return this.made;
  }

  /** Sending everything up to a parent that collects (then this process serves no Prometheus). */
  get child(): boolean {
    return this.start()?.child ?? false;
  }

  /** Per-process OTLP (the default) keeps OTLP readers to this process and its threads. */
  get otlpInclude(): Include {
    return this.values.OTEL_NODE_MULTIPROCESS_METRICS === 'aggregated' ? 'all' : 'threads';
  }

  /** In a child, OTLP is exported only per process; aggregated, the primary exports it. */
  get childExportsOtlp(): boolean {
    return this.values.OTEL_NODE_MULTIPROCESS_METRICS === 'per-process';
  }

  /** This process's own collection with every other contributor folded in. */
  private mergeOwn(hub: Hub, own: ResourceMetrics, others: Folded, reader: IMetricReader, deltas: DeltaState): ResourceMetrics {
    const { fold, toScopeMetrics } = foldModule();
    const { toSnapshot } = require('./snapshot') as typeof import('./snapshot');
    const temporality = reader.selectAggregationTemporality?.bind(reader) ?? (() => 1);
    // Others are cumulative; convert them first, so the reader's own delta points add to deltas.
    const converted = toScopeMetrics(others, temporality, deltas);
    const merged: Folded = new Map();
    fold(merged, toSnapshot({ resource: own.resource, scopeMetrics: converted }, { source: 'others', pid: process.pid }), { ...hub.options, policy: () => 'sum' });
    // Gauges of others already carry their policy's result; the own ones join under the same policy.
    fold(merged, toSnapshot(own, { source: String(process.pid), pid: process.pid }, (n) => hub.once(`exp:${n}`, `multiprocess metrics: ${n} is an exponential histogram; only explicit-bucket histograms are merged across processes`)), hub.options);
    return { resource: own.resource, scopeMetrics: toScopeMetrics(merged, temporality) };
  }

  /** The drop-in's metrics the Prometheus reader's last collection set aside (one fold per scrape). */
  private lastDropIn: Folded | undefined;

  /** The Prometheus drop-in's metrics of this process and everything below it, as of the last Prometheus collection, in the text format. */
  dropInText(): string {
    const view = this.lastDropIn;
    this.lastDropIn = undefined;
    if (view === undefined) return '';
    return (require('../prometheus/values') as typeof import('../prometheus/values')).renderAll(view);
  }

  /**
   * Makes an exporting reader's collections include the other contributors. `withoutDropIn`: the
   * Prometheus drop-in's metrics are left to dropInText() (the OpenTelemetry serializer would
   * rename them and cannot show summaries).
   */
  wrap<R extends MetricReader>(reader: R, include: Include, withoutDropIn = false): R {
    const hub = this.start();
    if (hub === undefined) return reader;
    const collect = reader.collect.bind(reader);
    const deltas = new (foldModule().DeltaState)();
    const { DROP_IN_SCOPE_KEY } = require('./local') as typeof import('./local');
    reader.collect = async (options) => {
      const result = await collect(options);
      try {
        const others = hub.others(include);
        if (withoutDropIn) {
          const dropIn = others?.get(DROP_IN_SCOPE_KEY);
          this.lastDropIn = dropIn === undefined ? undefined : new Map([[DROP_IN_SCOPE_KEY, dropIn]]);
          others?.delete(DROP_IN_SCOPE_KEY);
        }
        if (others === undefined) return result;
        return { ...result, resourceMetrics: this.mergeOwn(hub, result.resourceMetrics, others, reader, deltas) };
      } catch (err) {
        hub.once('merge', `multiprocess metrics: other processes' metrics could not be merged (${errorText(err)}); this process's own are exported`);
        return result;
      }
    };
    return reader;
  }

  /** A child's reader: its SDK's cumulative metrics, collected when a snapshot is sent, and at shutdown. */
  sender(m: typeof import('@opentelemetry/sdk-metrics')): MetricReader {
    // Asked for only when child is true, so the hub exists; without one the reader sends nothing.
    const hub = this.start();
    const { toSnapshot } = require('./snapshot') as typeof import('./snapshot');
    class SnapshotSender extends m.MetricReader {
      protected override onInitialized(): void {
        if (hub !== undefined) hub.collectOwn = async () => toSnapshot((await this.collect()).resourceMetrics, { source: String(process.pid), pid: process.pid });
      }

      protected override async onForceFlush(): Promise<void> {
        await hub?.send();
      }

      protected override async onShutdown(): Promise<void> {
        if (hub === undefined) return;
        await hub.sendLast();
        hub.collectOwn = undefined;
      }
    }
    return new SnapshotSender();
  }
}
