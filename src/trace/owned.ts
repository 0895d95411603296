/**
 * Set (to true) on SpanOptions by an instrumentation of ours whose `attributes` object it built
 * for this span alone and never touches again: our tracer may then keep that object instead of
 * copying it, when its values need no cleaning within the limits (tracer.ts). Upstream's tracer
 * ignores the mark and copies as always.
 */
export const OWNED_ATTRIBUTES = Symbol('otel-autoinstrument owned span attributes');
