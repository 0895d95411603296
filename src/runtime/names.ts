/**
 * Metric and attribute names. The v8js.* and nodejs.* ones are the semantic conventions' (as of
 * @opentelemetry/semantic-conventions 1.45, whose incubating entry is too large to load at
 * startup for a handful of strings); autoinstrument.* are ours, documented in docs/runtime-metrics.md.
 */
export const GC_DURATION = 'v8js.gc.duration';
export const GC_TYPE = 'v8js.gc.type';
/** The conventions' advisory ExplicitBucketBoundaries for v8js.gc.duration. */
export const GC_DURATION_BUCKETS = [0.01, 0.1, 1, 10];

export const HEAP_USED = 'v8js.memory.heap.used';
export const HEAP_SPACE_SIZE = 'v8js.memory.heap.space.size';
export const HEAP_SPACE_AVAILABLE = 'v8js.memory.heap.space.available_size';
export const HEAP_SPACE_PHYSICAL = 'v8js.memory.heap.space.physical_size';
export const HEAP_SPACE_NAME = 'v8js.heap.space.name';

export const RESOURCE_ACTIVE = 'v8js.resource.active';
export const RESOURCE_TYPE = 'v8js.resource.type';

export const EVENTLOOP_DELAY_PREFIX = 'nodejs.eventloop.delay.';
export const EVENTLOOP_UTILIZATION = 'nodejs.eventloop.utilization';
export const EVENTLOOP_TIME = 'nodejs.eventloop.time';
export const EVENTLOOP_STATE = 'nodejs.eventloop.state';

/** Ours: event-loop delay as a real histogram, mergeable across instances (percentile gauges are not). */
export const EVENTLOOP_DELAY_HISTOGRAM = 'autoinstrument.eventloop.delay';
export const EVENTLOOP_DELAY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Ours (extra gc_time): cumulative GC time per type, kept in integer nanoseconds. */
export const GC_TIME = 'autoinstrument.gc.time';
/** Ours (extra gc_reclaimed): heap bytes freed by each GC. */
export const GC_RECLAIMED = 'autoinstrument.gc.reclaimed';
export const GC_RECLAIMED_BUCKETS = [1024, 16384, 262144, 1048576, 4194304, 16777216, 67108864, 268435456, 1073741824];

export const SCOPE = 'otel-autoinstrument/runtime';
