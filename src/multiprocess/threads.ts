import * as wt from 'node:worker_threads';
import { errorText, type Logger } from '../log';
import type { Aggregate } from './aggregate';
import { ShardReader } from './shard';

/** Left in the environment data of every worker this process starts (and their workers). */
export const THREADS_KEY = 'otel-autoinstrument:metrics';

export interface ThreadsStartData {
  readonly channel: string;
  readonly intervalMs: number;
}

interface ShardMessage {
  type: 'otel-autoinstrument:shard';
  sab: SharedArrayBuffer;
  pid: number;
  thread: number;
}

/** The process's one channel between its threads' shards and its main thread. */
export const channelName = (pid: number = process.pid): string => `otel-autoinstrument:metrics:${pid}`;

/**
 * Where the main thread asks threads to send their shard again (it started collecting after they
 * had sent it to no one). Apart from the shards' channel, so a thread never receives the others' shards.
 */
const askChannel = (name: string): string => `${name}:ask`;

/** Posts one message on a channel of that name, then closes it (a closed channel keeps nothing alive). */
function post(name: string, message: unknown): void {
  const channel = new wt.BroadcastChannel(name);
  try {
    channel.postMessage(message);
  } finally {
    channel.close();
  }
}

/**
 * The main thread's side: every worker thread (nested ones too) sends its shard over a
 * BroadcastChannel when it starts; collections read them all. Listening starts with the process,
 * before the app can start a worker; the channel never keeps the process alive.
 */
export class ThreadShards {
  private readonly shards = new Map<string, ShardReader>();
  private readonly channel: wt.BroadcastChannel;
  private warnedFull = false;

  constructor(
    private readonly aggregate: Aggregate,
    private readonly log: Logger,
    intervalMs: number,
  ) {
    const name = channelName();
    this.channel = new wt.BroadcastChannel(name);
    this.channel.unref();
    this.channel.onmessage = (e: unknown) => {
      try {
        this.receive((e as { data: unknown }).data);
      } catch (err) {
        this.log.debug(`multiprocess metrics: a worker thread's message was not understood (${errorText(err)})`);
      }
    };
    const data: ThreadsStartData = { channel: name, intervalMs };
    wt.setEnvironmentData(THREADS_KEY, data);
    // Threads started before this (the Prometheus drop-in required late in the main thread) have
    // sent their shard to no one: they send it again when asked.
    post(askChannel(name), 'ask');
    // A thread stopped by worker.terminate() runs no exit handler, so it never marks its shard
    // closed: the Worker's 'exit' event says it instead (for the workers this thread starts).
    const dc = require('node:diagnostics_channel') as typeof import('node:diagnostics_channel');
    dc.subscribe('worker_threads', (message: unknown) => {
      try {
        const worker = (message as { worker?: wt.Worker }).worker;
        const id = worker?.threadId;
        if (worker === undefined || typeof id !== 'number' || id < 0) return;
        worker.once('exit', () => this.exited.add(id));
      } catch (err) {
        this.log.debug(`multiprocess metrics: a worker thread could not be watched (${errorText(err)})`);
      }
    });
  }

  /** Threads whose Worker has emitted 'exit' (their ids are never reused in a process). */
  private readonly exited = new Set<number>();

  private receive(d: unknown): void {
    const m = d as Partial<ShardMessage> | null;
    if (m?.type !== 'otel-autoinstrument:shard' || !(m.sab instanceof SharedArrayBuffer) || typeof m.thread !== 'number' || typeof m.pid !== 'number') return;
    const source = `${m.pid}/${m.thread}`;
    const reader = new ShardReader(m.sab, { source, pid: m.pid, thread: m.thread });
    if (reader.valid()) this.shards.set(source, reader);
  }

  /** A shard of this thread's own (the Prometheus drop-in's in the main thread), read like a worker's. */
  addLocal(sab: SharedArrayBuffer): void {
    const source = `${process.pid}/${wt.threadId}`;
    this.shards.set(source, new ShardReader(sab, { source, pid: process.pid, thread: wt.threadId }));
  }

  /** Reads every shard into the aggregate; a thread that has ended is read one last time and let go. */
  refresh(): void {
    const now = Date.now();
    for (const [source, r] of this.shards) {
      try {
        const closed = r.closed() || this.exited.has(r.source.thread);
        this.aggregate.update(r.snapshot(now));
        if (r.full() && !this.warnedFull) {
          this.warnedFull = true;
          this.log.warn(`multiprocess metrics: worker thread ${r.source.thread}'s metric store is full; its new series are not recorded`);
        }
        if (closed) {
          this.aggregate.retire(source);
          this.shards.delete(source);
          this.exited.delete(r.source.thread);
        }
      } catch (err) {
        this.log.debug(`multiprocess metrics: thread ${source} could not be read (${errorText(err)})`);
      }
    }
  }

  close(): void {
    this.channel.close();
  }
}

/**
 * A worker thread's side: sends its shard to the main thread, and again whenever the main thread
 * asks (it began collecting after this thread started). The ask channel stays open for that, unref'd:
 * it never keeps the thread alive.
 */
export function sendShard(sab: SharedArrayBuffer, name: string, log: Pick<Logger, 'debug'>): void {
  const message: ShardMessage = { type: 'otel-autoinstrument:shard', sab, pid: process.pid, thread: wt.threadId };
  const send = (): void => {
    try {
      post(name, message);
    } catch (err) {
      log.debug(`multiprocess metrics: this thread's shard was not sent (${errorText(err)})`);
    }
  };
  const asks = new wt.BroadcastChannel(askChannel(name));
  asks.unref();
  asks.onmessage = send;
  send();
}

/** The start data this worker thread's main thread left, if it collects worker metrics. */
export function threadsStartData(): ThreadsStartData | undefined {
  if (wt.isMainThread) return undefined;
  const d = wt.getEnvironmentData(THREADS_KEY) as Partial<ThreadsStartData> | undefined;
  return d !== undefined && typeof d.channel === 'string' && typeof d.intervalMs === 'number' ? (d as ThreadsStartData) : undefined;
}

type Api = typeof import('@opentelemetry/api');

/**
 * A worker thread's side: the global MeterProvider writes into this thread's shard, which is
 * sent to the main thread once. No SDK and no exporter; one unref'd timer runs the thread's
 * observable callbacks.
 */
export function startThreadMetrics(api: Api, data: ThreadsStartData, log: Logger): void {
  const { ThreadMeterProvider, ThreadStore } = require('./thread-meter') as typeof import('./thread-meter');
  const store = new ThreadStore((w) => log.warn(w));
  sendShard(store.writer.sab, data.channel, log);
  const provider = new ThreadMeterProvider(store);
  const local = require('./local') as typeof import('./local');
  local.setLocalStore({ store, view: local.shardView(store, { policy: () => 'pid' }), intervalMs: data.intervalMs });
  if (!api.metrics.setGlobalMeterProvider(provider)) {
    log.debug('multiprocess metrics: this thread already has a global MeterProvider; its metrics stay with it');
    return;
  }
  process.once('exit', () => {
    provider.observables.run();
    store.writer.close();
  });
  const timer = setInterval(() => provider.observables.run(), data.intervalMs);
  timer.unref();
}
