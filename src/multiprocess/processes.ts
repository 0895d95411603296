import type { ChildProcess } from 'node:child_process';
import { errorText, type Logger } from '../log';
import type { Aggregate } from './aggregate';
import { isSnapshot, type Snapshot } from './snapshot';

/**
 * Our IPC messages. Node hands messages whose cmd starts with "NODE_" to an internal event
 * ('internalMessage') instead of 'message', so the app's own message handlers, in the cluster
 * primary and in the workers, never see ours. That is Node's internal convention, not a public
 * API; test/e2e/multiprocess.test.mjs fails if an app handler ever receives one.
 */
export const IPC_CMD = 'NODE_OTEL_AUTOINSTRUMENT_METRICS';
/** A cluster worker to its primary, when the drop-in is set up there without the marker: "I have metrics". */
export const HELLO_CMD = 'NODE_OTEL_AUTOINSTRUMENT_HELLO';
/** A parent to a child: "I collect, send me yours" (the answer to a hello, or a primary that started late). */
export const COLLECT_CMD = 'NODE_OTEL_AUTOINSTRUMENT_COLLECT';

interface SnapshotMessage {
  cmd: typeof IPC_CMD;
  snap: Snapshot;
}

type InternalEmitter = ChildProcess & { on(event: 'internalMessage', l: (m: unknown) => void): ChildProcess };

/**
 * The parent's side: every child process started with an IPC channel (cluster workers,
 * child_process.fork) may send snapshots; each child is one contributor, retired when it exits.
 * Subscribed through the 'child_process' diagnostics channel, before the app's next fork; cluster
 * workers forked earlier are found in cluster.workers and asked for theirs.
 */
export function watchChildren(aggregate: Aggregate, log: Logger): () => void {
  const dc = require('node:diagnostics_channel') as typeof import('node:diagnostics_channel');
  const onChild = (message: unknown): void => watchChild((message as { process?: ChildProcess }).process, aggregate, log, false);
  dc.subscribe('child_process', onChild);
  for (const cp of earlierClusterWorkers(log)) watchChild(cp, aggregate, log, true);
  return () => dc.unsubscribe('child_process', onChild);
}

function watchChild(cp: ChildProcess | undefined, aggregate: Aggregate, log: Logger, ask: boolean): void {
  try {
    if (cp === undefined || typeof cp.on !== 'function') return;
    let source: string | undefined;
    (cp as InternalEmitter).on('internalMessage', (m: unknown) => {
      try {
        const msg = m as Partial<SnapshotMessage> | { cmd?: unknown } | null;
        if (msg?.cmd === HELLO_CMD) return collectFrom(cp, log);
        if (msg?.cmd !== IPC_CMD || !('snap' in msg) || !isSnapshot(msg.snap)) return;
        source = msg.snap.source;
        aggregate.update(msg.snap);
      } catch (err) {
        log.debug(`multiprocess metrics: a child's snapshot was not taken (${errorText(err)})`);
      }
    });
    // 'close' comes after the IPC channel has closed, so the child's last snapshot is in.
    cp.once('close', () => {
      if (source !== undefined) aggregate.retire(source);
    });
    if (ask) collectFrom(cp, log);
  } catch (err) {
    log.debug(`multiprocess metrics: a child process could not be watched (${errorText(err)})`);
  }
}

/** Always with a callback: without one, a closed channel is an 'error' event that would crash the app. */
function collectFrom(cp: ChildProcess, log: Logger): void {
  try {
    if (cp.connected) cp.send({ cmd: COLLECT_CMD }, undefined, {}, () => undefined);
  } catch (err) {
    log.debug(`multiprocess metrics: a child was not asked for its metrics (${errorText(err)})`);
  }
}

/**
 * Node loads its cluster module at startup in a worker, and in a primary only when the app
 * requires it. process.moduleLoadList (undocumented, in Node since 0.x) says whether it is loaded,
 * so a process that never used cluster does not pay ~4 ms to load it here.
 * test/e2e/prometheus-no-hook.test.mjs (workers forked before the primary required the drop-in)
 * fails if this stops seeing it.
 */
function clusterIfLoaded(): typeof import('node:cluster').default | undefined {
  const list = (process as { moduleLoadList?: readonly string[] }).moduleLoadList;
  if (!Array.isArray(list) || !list.includes('NativeModule cluster')) return undefined;
  return require('node:cluster') as typeof import('node:cluster').default;
}

/** The live workers of a cluster primary that forked before this process started collecting. */
function earlierClusterWorkers(log: Logger): ChildProcess[] {
  try {
    const cluster = clusterIfLoaded();
    if (cluster?.isPrimary !== true) return [];
    return Object.values(cluster.workers ?? {}).flatMap((w) => (w?.process ? [w.process] : []));
  } catch (err) {
    log.debug(`multiprocess metrics: earlier cluster workers were not looked for (${errorText(err)})`);
    return [];
  }
}

/**
 * A cluster worker whose primary did not collect when it was forked (no marker): says hello, and
 * starts sending when its primary asks (now, in answer, or later, when the primary starts). Only
 * cluster workers: their parent is always Node's cluster primary, which ignores messages it does
 * not know; another process's parent might not be Node at all.
 */
export function askParent(onCollect: () => void, log: Logger): void {
  try {
    if (typeof process.send !== 'function' || !process.connected || clusterIfLoaded()?.isWorker !== true) return;
    const onMessage = (m: unknown): void => {
      if ((m as { cmd?: unknown } | null)?.cmd !== COLLECT_CMD) return;
      process.removeListener('internalMessage' as 'message', onMessage);
      try {
        onCollect();
      } catch (err) {
        log.debug(`multiprocess metrics: sending to the primary did not start (${errorText(err)})`);
      }
    };
    // An 'internalMessage' listener does not keep the channel (and the process) alive.
    process.on('internalMessage' as 'message', onMessage);
    process.send({ cmd: HELLO_CMD }, undefined, {}, () => undefined);
  } catch (err) {
    log.debug(`multiprocess metrics: the primary was not told of this worker (${errorText(err)})`);
  }
}

/** This process's parent aggregates its metrics: it set the marker to its own pid before starting us. */
export function parentAggregates(marker: string | undefined): boolean {
  return marker !== undefined && marker === String(process.ppid) && typeof process.send === 'function';
}

/**
 * Sends a snapshot to the parent; resolves when it is written or cannot be. Always with a
 * callback: without one, a closed channel is an 'error' event that would crash the app.
 */
export function sendToParent(snap: Snapshot): Promise<void> {
  return new Promise((resolve) => {
    try {
      if (process.send === undefined || !process.connected) {
        resolve();
        return;
      }
      const msg: SnapshotMessage = { cmd: IPC_CMD, snap };
      process.send(msg, undefined, {}, () => resolve());
    } catch {
      resolve();
    }
  });
}
