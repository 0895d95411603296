import { relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syncBuiltinESMExports } from 'node:module';
import type { Span } from '@opentelemetry/api';
import { errorText, type Logger } from '../log';
import { type Forwarded, plainContext, WORKER_DATA_KEY, type WorkerStartData } from './protocol';
import { type Recorder, stateOf, Unit } from './recorder';

// The module object itself (an import namespace copy has getters only): Worker is replaced on it.
const wt = require('node:worker_threads') as typeof import('node:worker_threads');

/** Where what a worker forwards goes: exported here (main thread) or passed on (a worker's worker). */
export type Receive = (m: Forwarded) => void;

interface Traced {
  unit: Unit;
  span: Span;
  start: number;
  channel: import('node:worker_threads').BroadcastChannel;
  error?: unknown;
  terminated: boolean;
}

/** The metric `name` of a worker: its script relative to the working directory, or "eval". */
export function workerName(filename: unknown, options: { eval?: boolean } | undefined): string {
  if (options?.eval === true) return 'eval';
  let p = filename instanceof URL ? filename.href : String(filename);
  if (p.startsWith('file:')) {
    try {
      p = fileURLToPath(p);
    } catch {
      return 'file:';
    }
  } else if (/^[a-z][a-z0-9+.-]+:/i.test(p)) {
    return p.slice(0, p.indexOf(':') + 1);
  }
  const rel = relative(process.cwd(), resolve(p));
  return (rel.startsWith('..') ? p : rel).split(sep).join('/');
}

/**
 * Replaces worker_threads.Worker with a subclass: each worker is one unit of work, a span from
 * `new Worker()` to its 'exit'. The worker receives (in its environment data, never in the app's
 * workerData) a BroadcastChannel name and the span's context; our register hook in the worker
 * sends its spans and observations there. At 'exit', whatever the worker sent is read
 * synchronously before the worker's span ends, so nothing a finished worker sent is lost.
 * No listener is added to the worker: 'error' and 'exit' are seen in emit(), so an 'error' with no
 * listener of the app's still throws as it would have.
 */
export function patchWorker(rec: Recorder, take: Receive, log: Logger): void {
  // Called from the channel's message event, where a throw would be the app's uncaught exception.
  const receive = (m: Forwarded): void => {
    try {
      take(m);
    } catch (err) {
      log.debug(`async tracing: a worker's message: ${errorText(err)}`);
    }
  };
  const Original = wt.Worker;
  const traced = new WeakMap<object, Traced>();
  const units = new Map<string, Unit>();
  let n = 0;
  const finish = (t: Traced, code: unknown): void => {
    let m: { message: unknown } | undefined;
    while ((m = wt.receiveMessageOnPort(t.channel as unknown as import('node:worker_threads').MessagePort)) !== undefined) receive(m.message as Forwarded);
    t.channel.close();
    const state = t.error !== undefined ? stateOf(t.error) : t.terminated ? 'cancelled' : code === 0 ? 'finished' : 'exception';
    rec.end(t.unit, t.span, t.start, state !== 'finished', t.error, state, t.error === undefined && code !== 0 ? `exit code ${String(code)}` : undefined);
  };

  class Worker extends Original {
    constructor(filename: string | URL, options?: import('node:worker_threads').WorkerOptions) {
      const start = performance.now();
      const name = workerName(filename, options);
      const unit = units.get(name) ?? new Unit('worker', name);
      units.set(name, unit);
      const span = rec.startSpan(unit);
      let channel: import('node:worker_threads').BroadcastChannel | undefined;
      if (span !== undefined) {
        try {
          const data: WorkerStartData = { channel: `otel-autoinstrument:${process.pid}:${wt.threadId}:${n++}`, parent: plainContext(span.spanContext()) };
          channel = new wt.BroadcastChannel(data.channel);
          channel.onmessage = (e: unknown) => receive((e as { data: Forwarded }).data);
          channel.unref();
          wt.setEnvironmentData(WORKER_DATA_KEY, data as unknown as import('node:worker_threads').Serializable);
        } catch (err) {
          log.debug(`async tracing: worker channel: ${errorText(err)}`);
        }
      }
      try {
        super(filename, options);
      } catch (err) {
        if (span !== undefined) rec.end(unit, span, start, true, err);
        channel?.close();
        throw err;
      } finally {
        if (channel !== undefined) wt.setEnvironmentData(WORKER_DATA_KEY, undefined);
      }
      if (span !== undefined && channel !== undefined) {
        span.setAttribute('thread.id', this.threadId);
        traced.set(this, { unit, span, start, channel, terminated: false });
      }
    }

    override emit(event: string | symbol, ...args: unknown[]): boolean {
      const t = traced.get(this);
      if (t !== undefined) {
        try {
          if (event === 'error' && t.error === undefined) t.error = args[0];
          else if (event === 'exit') {
            traced.delete(this);
            finish(t, args[0]);
          }
        } catch (err) {
          log.debug(`async tracing: worker ${event.toString()}: ${errorText(err)}`);
        }
      }
      return super.emit(event, ...args);
    }

    override terminate(): Promise<number> {
      const t = traced.get(this);
      if (t !== undefined) t.terminated = true;
      return super.terminate();
    }
  }
  (wt as { Worker: typeof Original }).Worker = Worker;
  // `import { Worker } from 'node:worker_threads'` reads the builtin's exports as they are now.
  syncBuiltinESMExports();
}
