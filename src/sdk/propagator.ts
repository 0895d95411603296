import type { Context, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import type { Values } from '../config/table';

/**
 * core's CompositePropagator, with a loop where its extract builds a closure per call (every
 * incoming request extracts): each propagator in turn, one that throws skipped with a warning.
 */
class Composite implements TextMapPropagator {
  private readonly names: string[];

  constructor(
    private readonly list: readonly TextMapPropagator[],
    private readonly diag: { warn(message: string): void },
  ) {
    this.names = [...new Set(list.flatMap((p) => (typeof p.fields === 'function' ? p.fields() : [])))];
  }

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    for (const p of this.list) {
      try {
        p.inject(context, carrier, setter);
      } catch (err) {
        this.diag.warn(`Failed to inject with ${p.constructor.name}. Err: ${(err as Error | undefined)?.message}`);
      }
    }
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    let ctx = context;
    for (let i = 0; i < this.list.length; i++) {
      const p = this.list[i]!;
      try {
        ctx = p.extract(ctx, carrier, getter);
      } catch (err) {
        this.diag.warn(`Failed to extract with ${p.constructor.name}. Err: ${(err as Error | undefined)?.message}`);
      }
    }
    return ctx;
  }

  fields(): string[] {
    return this.names.slice();
  }
}

export function buildPropagator(values: Values, extra: readonly TextMapPropagator[] = []): TextMapPropagator | undefined {
  const names = values.OTEL_PROPAGATORS;
  if (names.includes('none') && extra.length === 0) return undefined;
  const core = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const list: TextMapPropagator[] = [];
  for (const n of names) {
    if (n === 'tracecontext') list.push(new core.W3CTraceContextPropagator());
    else if (n === 'baggage') list.push(new core.W3CBaggagePropagator());
    else if (n === 'b3' || n === 'b3multi') {
      const b3 = require('@opentelemetry/propagator-b3') as typeof import('@opentelemetry/propagator-b3');
      const injectEncoding = n === 'b3' ? b3.B3InjectEncoding.SINGLE_HEADER : b3.B3InjectEncoding.MULTI_HEADER;
      list.push(new b3.B3Propagator({ injectEncoding }));
    }
  }
  return new Composite([...list, ...extra], (require('@opentelemetry/api') as typeof import('@opentelemetry/api')).diag);
}
