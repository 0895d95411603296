import type { Attributes, SpanKind, SpanOptions } from '@opentelemetry/api';

/**
 * SpanOptions from an instrumentation of ours whose `attributes` object it built for this span
 * alone and never touches again: our tracer may then keep that object instead of copying it, when
 * its values need no cleaning within the limits (tracer.ts). A class rather than a mark on the
 * options, so the options object has no extra property; any other tracer reads it as plain
 * SpanOptions and copies as always.
 */
export class OwnedAttributes implements SpanOptions {
  constructor(
    readonly kind: SpanKind,
    readonly attributes: Attributes,
  ) {}
}
