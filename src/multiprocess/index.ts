import type { IMetricReader, MetricReader, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Values } from '../config/table';
import { errorText, type Logger } from '../log';
import { DeltaState, fold, type Folded, toScopeMetrics } from './fold';
import { existingHub, type Hub, type HubSettings, type Include, processHub } from './hub';
import { gaugePolicies } from './policy';
import { toSnapshot } from './snapshot';
import { DROP_IN_SCOPE_KEY } from './local';

export { PARENT_MARKER } from './hub';
export type { Include } from './hub';

/**
 * Metrics across worker threads and child processes (docs/multiprocess-metrics.md), for the
 * register hook's SDK. Made in the main thread of a process that exports metrics, at start,
 * before the app can start a thread or a process. The transport (threads' shards, children's
 * snapshots, sending up) is the process's one Hub, shared with the Prometheus drop-in: made here,
 * or taken over when the drop-in was required first. A process whose parent collects is a child:
 * it sends its own metrics, its threads' and its children's up, and does not serve Prometheus.
 */
export class Multiprocess {
  private readonly hub: Hub;
  readonly child: boolean;

  constructor(
    private readonly values: Values,
    log: Logger,
  ) {
    const settings: HubSettings = {
      policy: gaugePolicies(values.OTEL_NODE_MULTIPROCESS_GAUGE_POLICY, values.OTEL_NODE_MULTIPROCESS_GAUGE_POLICIES, (w) => log.warn(w)),
      // OTEL_NODE_MULTIPROCESS_INTERVAL (its table default is 1000; the type allows none).
      intervalMs: values.OTEL_NODE_MULTIPROCESS_INTERVAL ?? 1000,
      parentMarker: values.OTEL_NODE_MULTIPROCESS_PARENT,
      log,
    };
    this.hub = existingHub()?.adopt(settings) ?? processHub(() => settings);
    this.child = this.hub.child;
  }

  private get options(): Hub['options'] {
    return this.hub.options;
  }

  private once(key: string, w: string): void {
    this.hub.once(key, w);
  }

  /** Everything from others, cumulative; undefined when there is no one else. */
  private others(include: Include): Folded | undefined {
    return this.hub.others(include);
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
  private mergeOwn(own: ResourceMetrics, others: Folded, reader: IMetricReader, deltas: DeltaState): ResourceMetrics {
    const temporality = reader.selectAggregationTemporality?.bind(reader) ?? (() => 1);
    // Others are cumulative; convert them first, so the reader's own delta points add to deltas.
    const converted = toScopeMetrics(others, temporality, deltas);
    const merged: Folded = new Map();
    fold(merged, toSnapshot({ resource: own.resource, scopeMetrics: converted }, { source: 'others', pid: process.pid }), { ...this.options, policy: () => 'sum' });
    // Gauges of others already carry their policy's result; the own ones join under the same policy.
    fold(merged, toSnapshot(own, { source: String(process.pid), pid: process.pid }, (n) => this.once(`exp:${n}`, `multiprocess metrics: ${n} is an exponential histogram; only explicit-bucket histograms are merged across processes`)), this.options);
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
    const collect = reader.collect.bind(reader);
    const deltas = new DeltaState();
    reader.collect = async (options) => {
      const result = await collect(options);
      try {
        const others = this.others(include);
        if (withoutDropIn) {
          const dropIn = others?.get(DROP_IN_SCOPE_KEY);
          this.lastDropIn = dropIn === undefined ? undefined : new Map([[DROP_IN_SCOPE_KEY, dropIn]]);
          others?.delete(DROP_IN_SCOPE_KEY);
        }
        if (others === undefined) return result;
        return { ...result, resourceMetrics: this.mergeOwn(result.resourceMetrics, others, reader, deltas) };
      } catch (err) {
        this.once('merge', `multiprocess metrics: other processes' metrics could not be merged (${errorText(err)}); this process's own are exported`);
        return result;
      }
    };
    return reader;
  }

  /** A child's reader: its SDK's cumulative metrics, collected when a snapshot is sent, and at shutdown. */
  sender(m: typeof import('@opentelemetry/sdk-metrics')): MetricReader {
    const mp = this;
    class SnapshotSender extends m.MetricReader {
      protected override onInitialized(): void {
        mp.hub.collectOwn = async () => toSnapshot((await this.collect()).resourceMetrics, { source: String(process.pid), pid: process.pid });
      }

      protected override async onForceFlush(): Promise<void> {
        await mp.hub.send();
      }

      protected override async onShutdown(): Promise<void> {
        await mp.hub.sendLast();
        mp.hub.collectOwn = undefined;
      }
    }
    return new SnapshotSender();
  }
}
