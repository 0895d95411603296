import type { Context, Span, SpanOptions, Tracer, TracerOptions, TracerProvider } from '@opentelemetry/api';
import { SUPPRESS_TRACING } from './suppress';

type Api = typeof import('@opentelemetry/api');

/**
 * The global tracer provider installed at startup. Instrumentations ask for their tracer when
 * constructed; the real provider is built only when the first span is started. Then the tracer
 * handed out takes the real tracer's methods, so a span start costs one bound call, not a closure
 * and a lookup each time.
 */
export function lazyTracerProvider(api: Api, real: () => TracerProvider | undefined): TracerProvider {
  // A proxy with no delegate hands out no-op tracers (the global one would loop back to us).
  const noop = new api.ProxyTracerProvider();
  const handedOut = new Map<string, Tracer>();
  return {
    getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
      const key = `${name}@${version ?? ''}:${options?.schemaUrl ?? ''}`;
      const known = handedOut.get(key);
      if (known !== undefined) return known;
      const bind = (): Tracer => {
        const t = (real() ?? noop).getTracer(name, version, options);
        tracer.startSpan = t.startSpan.bind(t);
        tracer.startActiveSpan = t.startActiveSpan.bind(t) as Tracer['startActiveSpan'];
        return t;
      };
      const tracer: Tracer = {
        startSpan(spanName: string, o?: SpanOptions, ctx?: Context): Span {
          // The exporters' own requests run with tracing suppressed: no reason to build the SDK for them.
          if ((ctx ?? api.context.active()).getValue(SUPPRESS_TRACING) === true) return api.trace.wrapSpanContext(api.INVALID_SPAN_CONTEXT);
          return bind().startSpan(spanName, o, ctx);
        },
        startActiveSpan: function (this: unknown, ...args: unknown[]): unknown {
          const t = bind();
          // The argument count picks the overload: passed on as it came.
          return (t.startActiveSpan as (...a: unknown[]) => unknown).apply(t, args);
        } as Tracer['startActiveSpan'],
      };
      handedOut.set(key, tracer);
      return tracer;
    },
  };
}
