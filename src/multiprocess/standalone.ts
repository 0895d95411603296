import type { MULTIPROCESS_VARS } from '../config/table-multiprocess';
import { startClaimed } from '../singleton';
import { createLogger, errorText } from '../log';
import { isMainThread } from 'node:worker_threads';
import type { Folded } from './fold';
import { DEFAULT_INTERVAL_MS, hasLocalStore, setLocalStore, shardView } from './local';
import { PARENT_MARKER, processHub } from './hub';
import { gaugePolicies } from './policy';
import { ThreadStore } from './thread-meter';
import { channelName, sendShard, threadsStartData } from './threads';

/**
 * The Prometheus drop-in required without the register hook (or with it, when it collects no
 * metrics): sets up what the hook would have, so that a cluster primary's registry shows every
 * worker and thread. In a main thread, the process's hub (hub.ts): threads' shards, children's
 * snapshots, and sending up to a parent that collects. In a worker thread, its shard, sent to the
 * main thread whenever that one collects. Nothing here keeps the process alive, and nothing
 * throws: on failure each thread counts for itself, with one warning.
 */
export function setUpStandalone(): void {
  if (hasLocalStore()) return;
  const log = createLogger('warn');
  try {
    const { values, warnings } = settings(process.env);
    // A register hook that started here has already warned about the same variables; every
    // worker thread reads the same environment as its main thread, which says it once.
    if (isMainThread && !startClaimed()) for (const w of warnings) log.warn(w);
    if (values.OTEL_NODE_MULTIPROCESS_METRICS === 'off') return;
    const intervalMs = values.OTEL_NODE_MULTIPROCESS_INTERVAL ?? DEFAULT_INTERVAL_MS;
    if (isMainThread) {
      const policy = gaugePolicies(values.OTEL_NODE_MULTIPROCESS_GAUGE_POLICY, values.OTEL_NODE_MULTIPROCESS_GAUGE_POLICIES, (w) => log.warn(w));
      processHub(() => ({ intervalMs, policy, parentMarker: values.OTEL_NODE_MULTIPROCESS_PARENT, log }));
      return;
    }
    const data = threadsStartData();
    let made: { store: ThreadStore; view: () => Folded } | undefined;
    // The shard (and its 22 MiB of address space) is made when the thread first makes a metric.
    const mine = (): { store: ThreadStore; view: () => Folded } => {
      if (made === undefined) {
        const store = new ThreadStore((w) => log.warn(w));
        made = { store, view: shardView(store, { policy: () => 'pid' }) };
        sendShard(store.writer.sab, data?.channel ?? channelName(), log);
        // The main thread then reads it one last time and lets it go; its counters stay.
        process.once('exit', () => store.writer.close());
      }
      return made;
    };
    setLocalStore({
      get store(): ThreadStore {
        return mine().store;
      },
      view: () => mine().view(),
      intervalMs: data?.intervalMs ?? intervalMs,
    });
  } catch (err) {
    log.warn(`otel-autoinstrument/prometheus: metrics of other processes and threads are not collected here (${errorText(err)}); this thread counts for itself`);
  }
}

type Settings = { readonly [K in keyof typeof MULTIPROCESS_VARS]: (typeof MULTIPROCESS_VARS)[K]['default'] };

/** The table's defaults of the multiprocess variables (test/unit/prometheus-no-hook.test.mjs checks that they are). */
export const TABLE_DEFAULTS: Omit<Settings, 'OTEL_NODE_MULTIPROCESS_PARENT'> = {
  OTEL_NODE_MULTIPROCESS_METRICS: 'per-process',
  OTEL_NODE_MULTIPROCESS_INTERVAL: DEFAULT_INTERVAL_MS,
  OTEL_NODE_MULTIPROCESS_GAUGE_POLICY: 'pid',
  OTEL_NODE_MULTIPROCESS_GAUGE_POLICIES: {},
};

/**
 * The multiprocess variables, read by the table's own reader when the user set one. Most apps set
 * none, and then loading the reader and the table's rows (measured: up to 10 ms on Node 22 at
 * require time) buys nothing: the defaults apply, and the parent marker, which is ours, is read as
 * it was written.
 */
export function settings(env: NodeJS.ProcessEnv): { values: Settings; warnings: string[] } {
  const userSet = Object.keys(env).some((k) => k.startsWith('OTEL_NODE_MULTIPROCESS_') && k !== PARENT_MARKER && env[k]?.trim());
  if (userSet) {
    const { readVars } = require('../config/read') as typeof import('../config/read');
    return readVars((require('../config/table-multiprocess') as typeof import('../config/table-multiprocess')).MULTIPROCESS_VARS, env);
  }
  return { values: { ...TABLE_DEFAULTS, OTEL_NODE_MULTIPROCESS_PARENT: env[PARENT_MARKER]?.trim() || undefined }, warnings: [] };
}
