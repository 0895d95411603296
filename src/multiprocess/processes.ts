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

interface SnapshotMessage {
  cmd: typeof IPC_CMD;
  snap: Snapshot;
}

type InternalEmitter = ChildProcess & { on(event: 'internalMessage', l: (m: unknown) => void): ChildProcess };

/**
 * The parent's side: every child process started with an IPC channel (cluster workers,
 * child_process.fork) may send snapshots; each child is one contributor, retired when it exits.
 * Subscribed before the app's code runs, through the 'child_process' diagnostics channel.
 */
export function watchChildren(aggregate: Aggregate, log: Logger): () => void {
  const dc = require('node:diagnostics_channel') as typeof import('node:diagnostics_channel');
  const onChild = (message: unknown): void => {
    try {
      const cp = (message as { process?: ChildProcess }).process;
      if (cp === undefined || typeof cp.on !== 'function') return;
      let source: string | undefined;
      (cp as InternalEmitter).on('internalMessage', (m: unknown) => {
        try {
          const msg = m as Partial<SnapshotMessage> | null;
          if (msg?.cmd !== IPC_CMD || !isSnapshot(msg.snap)) return;
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
    } catch (err) {
      log.debug(`multiprocess metrics: a child process could not be watched (${errorText(err)})`);
    }
  };
  dc.subscribe('child_process', onChild);
  return () => dc.unsubscribe('child_process', onChild);
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
