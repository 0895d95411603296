/**
 * @opentelemetry/core's suppressTracing() key (core/src/trace/suppress-tracing.ts). createContextKey
 * is Symbol.for(description), so this is the same key without loading core. Test: the start-exit
 * laziness test, whose exit-time export would otherwise build the tracing SDK; and
 * test/unit/lean-tracer.test.mjs, against core's own suppressTracing().
 */
export const SUPPRESS_TRACING = Symbol.for('OpenTelemetry SDK Context Key SUPPRESS_TRACING');
