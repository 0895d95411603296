import type { IMetricReader, MetricReader, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Values } from '../config/table';
import { errorText, type Logger } from '../log';
import { Aggregate } from './aggregate';
import { DeltaState, fold, type FoldOptions, type Folded, toScopeMetrics, toSnapshotOf } from './fold';
import { gaugePolicies } from './policy';
import { parentAggregates, sendToParent, watchChildren } from './processes';
import { toSnapshot } from './snapshot';
import { ThreadShards } from './threads';
import { setLocalStore } from './local';
import { ThreadStore } from './thread-meter';

/** Set by a process that aggregates its children's metrics, to its pid, in its own environment. */
export const PARENT_MARKER = 'OTEL_NODE_MULTIPROCESS_PARENT';

/** Which contributors a reader's collections take in besides the process's own SDK. */
export type Include = 'threads' | 'all';

/**
 * Metrics across worker threads and child processes (docs/multiprocess-metrics.md). Made in the
 * main thread of a process that exports metrics, at start, before the app can start a thread or
 * a process: worker threads write into shards this process reads; child processes with an IPC
 * channel send snapshots here. A process whose parent does the same is a child: it sends its own
 * metrics, its threads' and its children's up, and does not serve Prometheus.
 */
export class Multiprocess {
  readonly threads: Aggregate;
  readonly children: Aggregate;
  private readonly shards: ThreadShards;
  readonly child: boolean;
  readonly options: FoldOptions;
  private readonly stopWatching: () => void;
  private readonly warned = new Set<string>();

  constructor(
    private readonly values: Values,
    private readonly log: Logger,
  ) {
    const policy = gaugePolicies(values.OTEL_NODE_MULTIPROCESS_GAUGE_POLICY, values.OTEL_NODE_MULTIPROCESS_GAUGE_POLICIES, (w) => log.warn(w));
    this.options = {
      policy,
      conflict: (name, why) => this.once(`conflict:${name}`, `multiprocess metrics: ${name} is not merged where ${why}; those points are left out`),
    };
    this.threads = new Aggregate(this.options);
    this.children = new Aggregate(this.options);
    this.child = parentAggregates(values.OTEL_NODE_MULTIPROCESS_PARENT);
    this.shards = new ThreadShards(this.threads, log, values.OTEL_NODE_MULTIPROCESS_INTERVAL ?? 1000);
    this.stopWatching = watchChildren(this.children, log);
    // Inherited by the processes the app starts (cluster.fork and child_process.fork copy the
    // environment), which is how a child knows its parent collects its metrics.
    process.env[PARENT_MARKER] = String(process.pid);
    // The Prometheus drop-in's store in this thread: made when the app first uses the drop-in.
    const mp = this;
    let store: ThreadStore | undefined;
    setLocalStore({
      get store(): ThreadStore {
        if (store === undefined) {
          store = new ThreadStore((w) => log.warn(w));
          mp.shards.addLocal(store.writer.sab);
        }
        return store;
      },
      view: () => this.others('all') ?? new Map(),
      intervalMs: values.OTEL_NODE_MULTIPROCESS_INTERVAL ?? 1000,
    });
    if (this.child) log.debug(`multiprocess metrics: sending to parent process ${process.ppid}`);
  }

  private once(key: string, w: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(w);
  }

  /** Per-process OTLP (the default) keeps OTLP readers to this process and its threads. */
  get otlpInclude(): Include {
    return this.values.OTEL_NODE_MULTIPROCESS_METRICS === 'aggregated' ? 'all' : 'threads';
  }

  /** In a child, OTLP is exported only per process; aggregated, the primary exports it. */
  get childExportsOtlp(): boolean {
    return this.values.OTEL_NODE_MULTIPROCESS_METRICS === 'per-process';
  }

  /** Everything from others, cumulative; undefined when there is no one else. */
  private others(include: Include): Folded | undefined {
    this.shards.refresh();
    const aggs = include === 'all' ? [this.threads, this.children] : [this.threads];
    if (aggs.every((a) => a.empty)) return undefined;
    const folded: Folded = new Map();
    for (const a of aggs) a.foldInto(folded);
    return folded;
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

  /** Makes an exporting reader's collections include the other contributors. */
  wrap<R extends MetricReader>(reader: R, include: Include): R {
    const collect = reader.collect.bind(reader);
    const deltas = new DeltaState();
    reader.collect = async (options) => {
      const result = await collect(options);
      try {
        const others = this.others(include);
        if (others === undefined) return result;
        return { ...result, resourceMetrics: this.mergeOwn(result.resourceMetrics, others, reader, deltas) };
      } catch (err) {
        this.once('merge', `multiprocess metrics: other processes' metrics could not be merged (${errorText(err)}); this process's own are exported`);
        return result;
      }
    };
    return reader;
  }

  /** A child's reader: its cumulative metrics, its threads' and its children's, sent to the parent at the interval and at shutdown. */
  sender(m: typeof import('@opentelemetry/sdk-metrics')): MetricReader {
    const mp = this;
    const interval = this.values.OTEL_NODE_MULTIPROCESS_INTERVAL ?? 1000;
    class SnapshotSender extends m.MetricReader {
      private timer: NodeJS.Timeout | undefined;
      private sending: Promise<void> | undefined;

      protected override onInitialized(): void {
        this.timer = setInterval(() => void this.send(), interval);
        this.timer.unref();
      }

      /** One send at a time: a slow channel skips a round rather than queueing them. */
      send(): Promise<void> {
        this.sending ??= this.sendNow().finally(() => (this.sending = undefined));
        return this.sending;
      }

      private async sendNow(): Promise<void> {
        try {
          const { resourceMetrics } = await this.collect();
          const folded = mp.others('all') ?? new Map();
          fold(folded, toSnapshot(resourceMetrics, { source: String(process.pid), pid: process.pid }), mp.options);
          await sendToParent(toSnapshotOf(folded, { source: String(process.pid), pid: process.pid }));
        } catch (err) {
          mp.log.debug(`multiprocess metrics: snapshot not sent (${errorText(err)})`);
        }
      }

      protected override async onForceFlush(): Promise<void> {
        await this.send();
      }

      protected override async onShutdown(): Promise<void> {
        if (this.timer) clearInterval(this.timer);
        await this.sending;
        await this.sendNow();
      }
    }
    return new SnapshotSender();
  }

  close(): void {
    this.stopWatching();
    this.shards.close();
  }
}
