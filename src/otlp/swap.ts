import { encodeTraceJson } from './json-trace';
import { encodeTraceProto } from './proto-trace';
import { SpanBatch } from './span-batch';
import type { SpanLike } from './types';

/** The serializer contract of @opentelemetry/otlp-exporter-base 0.300 (ISerializer in otlp-transformer). */
interface Serializer {
  serializeRequest(request: unknown): Uint8Array | undefined;
  deserializeResponse(data: Uint8Array): unknown;
}

interface Delegating {
  _delegate?: { _serializer?: unknown };
}

const isSerializer = (s: unknown): s is Serializer =>
  s !== null && typeof s === 'object' && typeof (s as Serializer).serializeRequest === 'function' && typeof (s as Serializer).deserializeResponse === 'function';

/** Marks a serializer of ours, so a second install is a no-op. */
const OWN = Symbol('otel-autoinstrument.ownTraceEncoder');

/**
 * Makes an upstream OTLP trace exporter serialize with our encoder (src/otlp): its transport,
 * retries, timeouts and response handling stay upstream's (the ResilientTransport under it
 * included). This reaches into private fields of @opentelemetry/otlp-exporter-base 0.300:
 * OTLPExporterBase keeps its export delegate in `_delegate`, the delegate its serializer in
 * `_serializer`, and calls `_serializer.serializeRequest(spans)` once per export (http/protobuf,
 * http/json and gRPC alike: the gRPC transport sends the bytes it is given). There is no public
 * way to give an exporter a serializer. Why ours: upstream's writer sizes every message in a
 * first pass, then writes it again, moving each span's bytes to fit its length, and allocates a
 * Uint8Array per id (docs/performance.md, OTLP encoding). Responses are still parsed by
 * upstream's serializer. A throw from either is the export's failure, counted by LazyExporter.
 * Returns false (and the exporter keeps upstream's serializer) when the shape is not as expected.
 * Test: test/unit/otlp-encoder.test.mjs builds every OTLP trace exporter and checks the swap.
 */
export function useOwnTraceEncoder(exporter: unknown, json: boolean): boolean {
  const delegate = (exporter as Delegating)._delegate;
  const upstream = delegate?._serializer;
  if (delegate === undefined || !isSerializer(upstream)) return false;
  if ((upstream as { [OWN]?: true })[OWN]) return true;
  const encode = json ? encodeTraceJson : encodeTraceProto;
  const own: Serializer & { [OWN]: true } = {
    [OWN]: true,
    // A SpanBatch (encoding-processor.ts) was encoded as its spans ended, in this exporter's format.
    serializeRequest: (spans: unknown) => (spans instanceof SpanBatch ? spans.bytes() : encode(spans as readonly SpanLike[])),
    deserializeResponse: (data: Uint8Array) => upstream.deserializeResponse(data),
  };
  delegate._serializer = own;
  return true;
}
