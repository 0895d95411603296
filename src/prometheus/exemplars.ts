import type { ShardWriter } from '../multiprocess/shard';

/** prom-client's exemplarLabels; only trace and span ids travel across threads and processes. */
export type ExemplarLabels = Record<string, string | number>;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

type Api = typeof import('@opentelemetry/api');
let api: Api | undefined;

/** The active span's ids as exemplar labels, or undefined when no span is recording. */
export function activeTraceIds(): ExemplarLabels | undefined {
  api ??= require('@opentelemetry/api') as Api;
  const span = api.trace.getSpan(api.context.active());
  if (span === undefined) return undefined;
  const c = span.spanContext();
  return api.isSpanContextValid(c) ? { trace_id: c.traceId, span_id: c.spanId } : undefined;
}

/**
 * Writes a series' exemplar: a sequence number made odd while the cells change and even after,
 * so a reader in another thread skips one it sees half written.
 */
export function writeExemplar(w: ShardWriter, at: number, labels: ExemplarLabels | undefined, value: number): void {
  if (labels === undefined) return;
  const trace = String(labels.trace_id ?? labels.traceId ?? labels.traceID ?? '').toLowerCase();
  const span = String(labels.span_id ?? labels.spanId ?? labels.spanID ?? '').toLowerCase();
  if (!HEX32.test(trace) || !HEX16.test(span)) return;
  const seq = w.get(at) + 1;
  w.set(at, seq);
  w.set(at + 1, value);
  w.set(at + 2, Date.now());
  w.setBits(at + 3, BigInt.asIntN(64, BigInt(`0x${trace.slice(0, 16)}`)));
  w.setBits(at + 4, BigInt.asIntN(64, BigInt(`0x${trace.slice(16)}`)));
  w.setBits(at + 5, BigInt.asIntN(64, BigInt(`0x${span}`)));
  w.set(at, seq + 1);
}
