import { errorText, type Logger } from '../log';
import { Aggregate } from './aggregate';
import { fold, type FoldOptions, type Folded, toSnapshotOf } from './fold';
import { setLocalStore } from './local';
import type { GaugePolicy } from './policy';
import { askParent, parentAggregates, sendToParent, watchChildren } from './processes';
import type { Snapshot } from './snapshot';
import { ThreadStore } from './thread-meter';
import { ThreadShards } from './threads';

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

export interface HubSettings {
  readonly intervalMs: number;
  readonly policy: (metric: string) => GaugePolicy;
  /** OTEL_NODE_MULTIPROCESS_PARENT as this process found it. */
  readonly parentMarker: string | undefined;
  readonly log: Logger;
}

/** Which contributors a collection takes in besides the process's own SDK. */
export type Include = 'threads' | 'all';

/**
 * What a process needs to see the metrics below it, whoever set it up first: the register hook's
 * multiprocess metrics (src/multiprocess/index.ts) or the Prometheus drop-in required without the
 * hook (standalone.ts). One per process, in its main thread: worker threads write into shards
 * read here; child processes with an IPC channel send snapshots here; a child whose parent
 * collects sends everything it has up.
 */
export class Hub {
  readonly threads: Aggregate;
  readonly children: Aggregate;
  readonly options: FoldOptions;
  private readonly shards: ThreadShards;
  private policy: (metric: string) => GaugePolicy;
  private log: Logger;
  readonly intervalMs: number;
  private readonly warned = new Set<string>();
  /** Sending to the parent: from the start (the marker), or once the parent asked. */
  private sendingUp = false;
  /** The register hook's own SDK collection in a child, when its metrics SDK is built. */
  collectOwn: (() => Promise<Snapshot | undefined>) | undefined;
  /** The SDK collection last sent: what a final, synchronous snapshot can include of it. */
  private lastOwn: Snapshot | undefined;
  private sending: Promise<void> | undefined;

  constructor(settings: HubSettings) {
    this.policy = settings.policy;
    this.log = settings.log;
    const hub = this;
    // What the hub hands on logs through whichever logger it has now (adopt() replaces it).
    const log: Logger = {
      get level() {
        return hub.log.level;
      },
      error: (m) => hub.log.error(m),
      warn: (m) => hub.log.warn(m),
      info: (m) => hub.log.info(m),
      debug: (m) => hub.log.debug(m),
      enabled: (l) => hub.log.enabled(l),
    };
    this.intervalMs = settings.intervalMs;
    this.options = {
      policy: (name) => this.policy(name),
      conflict: (name, why) => this.once(`conflict:${name}`, `multiprocess metrics: ${name} is not merged where ${why}; those points are left out`),
    };
    this.threads = new Aggregate(this.options);
    this.children = new Aggregate(this.options);
    this.shards = new ThreadShards(this.threads, log, this.intervalMs);
    watchChildren(this.children, log);
    // Inherited by the processes the app starts from now on (cluster.fork and child_process.fork
    // copy the environment), which is how a child knows at once that its parent collects.
    process.env[PARENT_MARKER] = String(process.pid);
    let store: ThreadStore | undefined;
    setLocalStore({
      get store(): ThreadStore {
        if (store === undefined) {
          store = new ThreadStore((w) => log.warn(w));
          hub.shards.addLocal(store.writer.sab);
        }
        return store;
      },
      view: () => this.others('all') ?? new Map(),
      intervalMs: this.intervalMs,
    });
    if (parentAggregates(settings.parentMarker)) this.startSending(false);
    // A cluster worker forked before its primary collected: the primary asks when it starts.
    else askParent(() => this.startSending(true), log);
  }

  /** The register hook started after the drop-in had set this process up: its settings apply from now on. */
  adopt(settings: Pick<HubSettings, 'policy' | 'log'>): this {
    this.policy = settings.policy;
    this.log = settings.log;
    return this;
  }

  /** Sending everything up to a parent that collects (then this process serves no Prometheus). */
  get child(): boolean {
    return this.sendingUp;
  }

  once(key: string, w: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(w);
  }

  /** Everything from others, cumulative; undefined when there is no one else. */
  others(include: Include): Folded | undefined {
    this.shards.refresh();
    const aggs = include === 'all' ? [this.threads, this.children] : [this.threads];
    if (aggs.every((a) => a.empty)) return undefined;
    const folded: Folded = new Map();
    for (const a of aggs) a.foldInto(folded);
    return folded;
  }

  /** One send at a time: a slow channel skips a round rather than queueing them. */
  send(): Promise<void> {
    this.sending ??= this.sendNow().finally(() => (this.sending = undefined));
    return this.sending;
  }

  /** Waits for a send in flight, then sends once more (a child's SDK shutting down). */
  async sendLast(): Promise<void> {
    await this.sending;
    await this.sendNow();
  }

  /** Everything this child has: its SDK's metrics (if built), its threads', the drop-in's and its children's. */
  private compose(own: Snapshot | undefined): Snapshot {
    const folded = this.others('all') ?? new Map();
    if (own !== undefined) fold(folded, own, this.options);
    return toSnapshotOf(folded, { source: String(process.pid), pid: process.pid });
  }

  private async sendNow(): Promise<void> {
    if (!this.sendingUp) return;
    try {
      const own = await this.collectOwn?.();
      if (own !== undefined) this.lastOwn = own;
      await sendToParent(this.compose(this.lastOwn));
    } catch (err) {
      this.log.debug(`multiprocess metrics: snapshot not sent (${errorText(err)})`);
    }
  }

  /** A snapshot of what can be read at once, written before this call returns when the channel has room. */
  private sendSync(): void {
    try {
      void sendToParent(this.compose(this.lastOwn));
    } catch (err) {
      this.log.debug(`multiprocess metrics: last snapshot not sent (${errorText(err)})`);
    }
  }

  /**
   * A child sends at the interval, and once more when it ends: a cluster worker usually ends by
   * disconnecting (worker.disconnect(), or the primary's), and by 'beforeExit' or 'disconnect'
   * the channel is gone.
   *
   * So process.disconnect() first sends a last snapshot synchronously (the threads' and the
   * drop-in's values as they are now, the SDK's as of the last interval), then collects the SDK
   * once more and sends again, and only then disconnects, within FINAL_SEND_MS. Node itself also
   * calls process.disconnect() when the parent closes the channel, and goes on closing right
   * after: that call (its caller is Node's child_process code, or the stack cannot be read) runs
   * at once, as it would without us. A process that exits while still connected (process.exit(),
   * or the end of its work) writes a last snapshot from its 'exit' event: libuv writes to the
   * channel at once when nothing is queued. test/e2e/multiprocess.test.mjs and
   * prometheus-no-hook.test.mjs cover these paths.
   */
  private startSending(now: boolean): void {
    if (this.sendingUp) return;
    this.sendingUp = true;
    this.log.debug(`multiprocess metrics: sending to parent process ${process.ppid}`);
    if (now) void this.send();
    const timer = setInterval(() => void this.send(), this.intervalMs);
    timer.unref();
    process.once('exit', () => {
      if (process.connected) this.sendSync();
    });
    const disconnect = process.disconnect;
    if (typeof disconnect !== 'function') return;
    const hub = this;
    let final = false;
    process.disconnect = function (this: NodeJS.Process): void {
      if (final || !process.connected || calledByNode()) {
        disconnect.call(this);
        return;
      }
      final = true;
      clearInterval(timer);
      hub.sendSync();
      const done = (): void => {
        clearTimeout(late);
        try {
          if (!process.connected) return;
          // Node closed the channel meanwhile (the parent went away): only its flag is left to set.
          if (process.channel == null) process.connected = false;
          else disconnect.call(process);
        } catch (err) {
          // Runs from a timer or a promise: a throw here would be the app's uncaught exception.
          hub.log.debug(`multiprocess metrics: disconnect after the last snapshot failed (${errorText(err)})`);
        }
      };
      const late = setTimeout(done, FINAL_SEND_MS);
      void hub.send().finally(done);
    };
  }
}

const KEY = Symbol.for('otel-autoinstrument.multiprocess-hub');
type Slot = { [KEY]?: Hub };

/** This process's hub, if something has set it up (in this copy of the package or another). */
export function existingHub(): Hub | undefined {
  return (globalThis as Slot)[KEY];
}

/** The one hub of this process: the existing one, or a new one with these settings. */
export function processHub(settings: () => HubSettings): Hub {
  const g = globalThis as Slot;
  return (g[KEY] ??= new Hub(settings()));
}
