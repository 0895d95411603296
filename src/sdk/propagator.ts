import type { TextMapPropagator } from '@opentelemetry/api';
import type { Values } from '../config/table';

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
  return new core.CompositePropagator({ propagators: [...list, ...extra] });
}
