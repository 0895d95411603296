import type { Attributes, HrTime, SpanContext, SpanStatus } from '@opentelemetry/api';

/**
 * The public fields of @opentelemetry/sdk-trace's ReadableSpan that OTLP carries, and nothing
 * else: the SDK's Span and our own span record both fit, so the encoder never depends on either.
 */
export interface SpanLike {
  readonly name: string;
  readonly kind: number;
  spanContext(): SpanContext;
  readonly parentSpanContext?: SpanContext | undefined;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly links: readonly LinkLike[];
  readonly events: readonly EventLike[];
  readonly resource: ResourceLike;
  readonly instrumentationScope: ScopeLike;
  readonly droppedAttributesCount: number;
  readonly droppedEventsCount: number;
  readonly droppedLinksCount: number;
}

export interface EventLike {
  readonly time: HrTime;
  readonly name: string;
  readonly attributes?: Attributes | undefined;
  readonly droppedAttributesCount?: number | undefined;
}

export interface LinkLike {
  readonly context: SpanContext;
  readonly attributes?: Attributes | undefined;
  readonly droppedAttributesCount?: number | undefined;
}

export interface ResourceLike {
  readonly attributes: Attributes;
  readonly schemaUrl?: string | undefined;
}

export interface ScopeLike {
  readonly name: string;
  readonly version?: string | undefined;
  readonly schemaUrl?: string | undefined;
  readonly attributes?: Attributes | undefined;
  readonly droppedAttributesCount?: number | undefined;
}

/** OTLP span flags: the W3C trace flags plus "we know whether the parent was remote" (and whether it was). */
export function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);
}
