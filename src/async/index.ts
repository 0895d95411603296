import type { Values } from '../config/table';
import { errorText, type Logger } from '../log';
import type { LazySdk } from '../sdk/providers';
import { hookModules, type ModuleHooks } from './modules';
import { type Forwarded, readableSpan } from './protocol';
import { meterSink, type MetricSink, Recorder, Unit } from './recorder';
import { isEmpty, parseTargets } from './targets';
import { patchTimers } from './timers';
import { patchWorker } from './worker-main';
import { isClass, wrapFunction } from './wrap';

type Api = typeof import('@opentelemetry/api');

export interface AsyncOptions {
  api: Api;
  values: Values;
  log: Logger;
  /** Where import-in-the-middle is resolved from: the copy the ESM hook uses. */
  resolveFrom: string;
  /** Main thread: the SDK that exports what workers forward. */
  sdk?: LazySdk;
  /** Worker thread: where observations and a nested worker's telemetry go instead. */
  worker?: { sink: MetricSink; forward: (m: Forwarded) => void };
}

/**
 * Async tracing (docs/async-tracing.md): wraps the functions OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE
 * names as their modules load, and, when enabled, worker threads and timers. Returns what the ESM
 * hook must include.
 */
export function installAsync(o: AsyncOptions): ModuleHooks {
  const { api, values: v, log } = o;
  const version = (require('../../package.json') as { version: string }).version;
  const sink = o.worker?.sink ?? meterSink(api, version);
  const rec = new Recorder(api, sink, log, version);
  const units = new Map<string, Unit>();
  const unit = (type: Unit['type'], name: string): Unit => {
    const key = `${type}\0${name}`;
    let u = units.get(key);
    if (u === undefined) units.set(key, (u = new Unit(type, name)));
    return u;
  };

  // Each part is on its own: one failing leaves the others (and the app) as they are.
  const guarded = (what: string, f: () => void): void => {
    try {
      f();
    } catch (err) {
      log.warn(`async tracing: ${what} could not be set up (${errorText(err)}); it is left untraced`);
    }
  };
  let hooks: ModuleHooks = { esmInclude: [] };
  guarded('OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE', () => {
    const targets = parseTargets(v.OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE, process.cwd());
    for (const w of targets.warnings) log.warn(w);
    if (isEmpty(targets)) return;
    hooks = hookModules(
      targets,
      o.resolveFrom,
      (fn, name) => {
        if (isClass(fn)) {
          log.warn(`OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE: "${name}" is a class, not a function; it is not traced`);
          return undefined;
        }
        return wrapFunction(fn, unit('function', name), rec);
      },
      log,
    );
  });
  if (v.OTEL_NODE_ASYNC_TIMERS_TRACE_ENABLED) guarded('timers', () => patchTimers(rec, api));
  if (v.OTEL_NODE_ASYNC_WORKER_TRACE_ENABLED || o.worker !== undefined) {
    const sdk = o.sdk;
    const receive =
      o.worker?.forward ??
      ((m: Forwarded): void => {
        if (m.t === 'metric') sink.record(unit(m.type, m.name), m.state, m.seconds);
        else sdk?.endForeignSpan((resource) => readableSpan(m.span, resource, api));
      });
    guarded('worker threads', () => patchWorker(rec, receive, log));
  }
  return hooks;
}
