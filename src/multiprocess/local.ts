import { createLogger } from '../log';
import { fold, type FoldOptions, type Folded } from './fold';
import { ShardReader } from './shard';
import { ThreadStore } from './thread-meter';
import { threadId } from 'node:worker_threads';

/**
 * This thread's metric store and its view of everything below it, for the Prometheus drop-in
 * (src/prometheus). Kept under a global symbol: the app may load the drop-in from its own copy
 * of the package while the register hook runs from another.
 *
 * - In a main thread where multiprocess metrics run: a shard read with the worker threads', and a
 *   view of this process, its threads and its child processes.
 * - In a worker thread whose main thread collects: the thread's own shard (the Meter API's).
 * - Otherwise, the drop-in required without the hook sets up the same (standalone.ts); should that
 *   be off or fail: a shard of its own, and a view of this thread alone.
 */
export interface LocalStore {
  readonly store: ThreadStore;
  /** Cumulative, folded: everything this thread's process knows that the drop-in can render. */
  view(): Folded;
  /** How often collect() callbacks run when no one asks (a child's snapshot, a thread's shard read). */
  readonly intervalMs: number;
}

/** The store's scope for the Prometheus drop-in's metrics: rendered by the drop-in, never by the OpenTelemetry serializer. */
export const DROP_IN_SCOPE = 'otel-autoinstrument/prometheus';
export const DROP_IN_SCOPE_KEY = `${DROP_IN_SCOPE}\u0000\u0000`;

const KEY = Symbol.for('otel-autoinstrument.local-metrics-store');
type Slot = { [KEY]?: LocalStore };

/** How often collect() callbacks run where no setting says (the table's default of OTEL_NODE_MULTIPROCESS_INTERVAL). */
export const DEFAULT_INTERVAL_MS = 1000;

/** Whether the register hook or the drop-in's own setup (standalone.ts) has made this thread's store. */
export function hasLocalStore(): boolean {
  return (globalThis as Slot)[KEY] !== undefined;
}

export function setLocalStore(s: LocalStore): void {
  (globalThis as Slot)[KEY] = s;
}

/** A view of one shard alone. */
export function shardView(store: ThreadStore, options: FoldOptions): () => Folded {
  const reader = new ShardReader(store.writer.sab, { source: `${process.pid}/${threadId}`, pid: process.pid, thread: threadId });
  return () => {
    const folded: Folded = new Map();
    fold(folded, reader.snapshot(), options);
    return folded;
  };
}

export function localStore(): LocalStore {
  const g = globalThis as Slot;
  let s = g[KEY];
  if (s === undefined) {
    const log = createLogger('warn');
    const store = new ThreadStore((w) => log.warn(w));
    s = { store, view: shardView(store, { policy: () => 'sum' }), intervalMs: DEFAULT_INTERVAL_MS };
    g[KEY] = s;
  }
  return s;
}
