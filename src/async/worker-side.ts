import * as wt from 'node:worker_threads';
import type { Values } from '../config/table';
import { errorText, type Logger } from '../log';
import { buildPropagator } from '../sdk/propagator';
import { spanLimits } from '../sdk/sdk-options';
import { buildSampler } from '../sdk/sampler';
import { type Forwarded, plainSpan, spanContextOf, WORKER_DATA_KEY, type WorkerStartData } from './protocol';
import type { MetricSink } from './recorder';

type Api = typeof import('@opentelemetry/api');

/** The start data our parent thread left for this worker, if it traces it. */
export function workerStartData(): WorkerStartData | undefined {
  const d = wt.isMainThread ? undefined : (wt.getEnvironmentData(WORKER_DATA_KEY) as Partial<WorkerStartData> | undefined);
  return d !== undefined && typeof d.channel === 'string' ? (d as WorkerStartData) : undefined;
}

/**
 * A traced worker thread runs no SDK of its own: no exporter, no resource, no metrics reader.
 * It gets the API globals the instrumentations need (a context manager whose root is the
 * parent's worker span, a tracer provider whose one processor posts each ended span to the
 * parent, the propagators) and sends its async observations the same way.
 */
export function startWorkerSide(api: Api, v: Values, data: WorkerStartData, log: Logger): { sink: MetricSink; forward: (m: Forwarded) => void } {
  // Ours alone: a worker this one starts gets its own, and an inherited copy would mislead it.
  wt.setEnvironmentData(WORKER_DATA_KEY, undefined);
  const channel = new wt.BroadcastChannel(data.channel);
  // Never keeps the worker alive; postMessage needs no running loop to deliver.
  channel.unref();
  let reported = false;
  const forward = (m: Forwarded): void => {
    try {
      channel.postMessage(m);
    } catch (err) {
      if (!reported) log.warn(`async tracing: a worker span could not be sent to the main thread (${errorText(err)})`);
      reported = true;
    }
  };

  const base = data.parent ? api.trace.setSpanContext(api.ROOT_CONTEXT, spanContextOf(data.parent, api, true)) : api.ROOT_CONTEXT;
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  // Code with no context of its own (the worker's top level, its event handlers) runs under the worker span.
  class WorkerContextManager extends AsyncLocalStorageContextManager {
    override active(): import('@opentelemetry/api').Context {
      const c = super.active();
      return c === api.ROOT_CONTEXT ? base : c;
    }
  }
  api.context.setGlobalContextManager(new WorkerContextManager().enable());

  let provider: import('@opentelemetry/api').TracerProvider | undefined;
  const build = (): import('@opentelemetry/api').TracerProvider => {
    if (provider !== undefined) return provider;
    const t = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
    const processor: import('@opentelemetry/sdk-trace').SpanProcessor = {
      onStart: () => undefined,
      onEnd: (span) => forward({ t: 'span', span: plainSpan(span, wt.threadId) }),
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
    provider = new t.TracerProvider({ sampler: buildSampler(v), spanLimits: spanLimits(v), spanProcessors: [processor] });
    return provider;
  };
  // Built on the first span, as in the main thread.
  api.trace.setGlobalTracerProvider({
    getTracer(name, version, options) {
      let real: import('@opentelemetry/api').Tracer | undefined;
      const get = (): import('@opentelemetry/api').Tracer => (real ??= build().getTracer(name, version, options));
      return {
        startSpan: (...args) => get().startSpan(...args),
        startActiveSpan: ((...args: unknown[]) => (get().startActiveSpan as (...a: unknown[]) => unknown)(...args)) as import('@opentelemetry/api').Tracer['startActiveSpan'],
      };
    },
  });
  try {
    const propagator = buildPropagator(v);
    if (propagator !== undefined) api.propagation.setGlobalPropagator(propagator);
  } catch (err) {
    log.warn(`async tracing: propagators in the worker: ${errorText(err)}`);
  }
  return {
    sink: { record: (unit, state, seconds) => forward({ t: 'metric', type: unit.type, name: unit.name, state, seconds }) },
    forward,
  };
}
