import type { IMetricReader, MetricReader, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Values } from '../config/table';
import { errorText, type Logger } from '../log';
import { Aggregate } from './aggregate';
import { DeltaState, fold, type FoldOptions, type Folded, toScopeMetrics, toSnapshotOf } from './fold';
import { gaugePolicies } from './policy';
import { parentAggregates, sendToParent, watchChildren } from './processes';
import { type Snapshot, toSnapshot } from './snapshot';
import { ThreadShards } from './threads';
import { DROP_IN_SCOPE_KEY, setLocalStore } from './local';
import { ThreadStore } from './thread-meter';

/** Set by a process that aggregates its children's metrics, to its pid, in its own environment. */
export const PARENT_MARKER = 'OTEL_NODE_MULTIPROCESS_PARENT';

/** How long an app's process.disconnect() in a child waits for its last snapshot. */
const FINAL_SEND_MS = 300;

/** Node's own call (the parent closed the channel): its caller is Node's child_process module. */
function calledByNode(): boolean {
  let caller: string | undefined;
  try {
    caller = new Error().stack?.split('\n')[3];
  } catch {
    // an app's Error.prepareStackTrace that throws: take the safe side
  }
  return caller === undefined || caller.includes('node:internal/child_process');
}

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
  /** OTEL_NODE_MULTIPROCESS_INTERVAL (its table default is 1000; the type allows none). */
  private readonly intervalMs: number;
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
    this.intervalMs = values.OTEL_NODE_MULTIPROCESS_INTERVAL ?? 1000;
    this.shards = new ThreadShards(this.threads, log, this.intervalMs);
    watchChildren(this.children, log);
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
      intervalMs: this.intervalMs,
    });
    if (this.child) {
      log.debug(`multiprocess metrics: sending to parent process ${process.ppid}`);
      this.startSending();
    }
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

  /** A child's own SDK collection, once its metrics SDK is built (the SnapshotSender reader). */
  private ownCollect: (() => Promise<ResourceMetrics>) | undefined;
  private sending: Promise<void> | undefined;

  /** One send at a time: a slow channel skips a round rather than queueing them. */
  send(): Promise<void> {
    this.sending ??= this.sendNow().finally(() => (this.sending = undefined));
    return this.sending;
  }

  /** The child's own SDK collection last sent: what a final, synchronous snapshot can include of it. */
  private lastOwn: Snapshot | undefined;

  /** Everything this child has: its SDK's metrics (if built), its threads', the drop-in's and its children's. */
  private compose(own: Snapshot | undefined): Snapshot {
    const folded = this.others('all') ?? new Map();
    if (own !== undefined) fold(folded, own, this.options);
    return toSnapshotOf(folded, { source: String(process.pid), pid: process.pid });
  }

  private async sendNow(): Promise<void> {
    try {
      const own = await this.ownCollect?.();
      if (own !== undefined) this.lastOwn = toSnapshot(own, { source: String(process.pid), pid: process.pid });
      await sendToParent(this.compose(this.lastOwn));
    } catch (err) {
      this.log.debug(`multiprocess metrics: snapshot not sent (${errorText(err)})`);
    }
  }

  /**
   * A child sends at the interval, and once more when its IPC channel is about to close: a cluster
   * worker usually ends by disconnecting (worker.disconnect(), or the primary's), and by
   * 'beforeExit' or 'disconnect' the channel is gone.
   *
   * So process.disconnect() first sends a last snapshot synchronously (the threads' and the
   * drop-in's values as they are now, the SDK's as of the last interval), then collects the SDK
   * once more and sends again, and only then disconnects, within FINAL_SEND_MS. Node itself also
   * calls process.disconnect() when the parent closes the channel, and goes on closing right
   * after: that call (its caller is Node's child_process code, or the stack cannot be read) runs
   * at once, as it would without us. test/e2e/multiprocess.test.mjs covers both paths.
   */
  private startSending(): void {
    const timer = setInterval(() => void this.send(), this.intervalMs);
    timer.unref();
    const disconnect = process.disconnect;
    if (typeof disconnect !== 'function') return;
    const mp = this;
    let final = false;
    process.disconnect = function (this: NodeJS.Process): void {
      if (final || !process.connected || calledByNode()) {
        disconnect.call(this);
        return;
      }
      final = true;
      clearInterval(timer);
      try {
        void sendToParent(mp.compose(mp.lastOwn));
      } catch (err) {
        mp.log.debug(`multiprocess metrics: last snapshot not sent (${errorText(err)})`);
      }
      const done = (): void => {
        clearTimeout(late);
        try {
          if (!process.connected) return;
          // Node closed the channel meanwhile (the parent went away): only its flag is left to set.
          if (process.channel == null) process.connected = false;
          else disconnect.call(process);
        } catch (err) {
          // Runs from a timer or a promise: a throw here would be the app's uncaught exception.
          mp.log.debug(`multiprocess metrics: disconnect after the last snapshot failed (${errorText(err)})`);
        }
      };
      const late = setTimeout(done, FINAL_SEND_MS);
      void mp.send().finally(done);
    };
  }

  /** A child's reader: its SDK's cumulative metrics, collected when a snapshot is sent, and at shutdown. */
  sender(m: typeof import('@opentelemetry/sdk-metrics')): MetricReader {
    const mp = this;
    class SnapshotSender extends m.MetricReader {
      protected override onInitialized(): void {
        mp.ownCollect = async () => (await this.collect()).resourceMetrics;
      }

      protected override async onForceFlush(): Promise<void> {
        await mp.send();
      }

      protected override async onShutdown(): Promise<void> {
        await mp.sending;
        await mp.sendNow();
        mp.ownCollect = undefined;
      }
    }
    return new SnapshotSender();
  }
}
