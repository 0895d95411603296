import type { Attributes, HrTime, Link, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';
import type { State, UnitType } from './recorder';

/**
 * What a traced worker thread sends its parent over its BroadcastChannel: structured-clone-safe
 * copies of its ended spans and of its own async observations. The parent exports them (main
 * thread) or passes them on (a worker that started a worker).
 */
export type Forwarded = { t: 'span'; span: PlainSpan } | { t: 'metric'; type: UnitType; name: string; state: State; seconds: number };

interface PlainContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  traceState?: string;
  isRemote?: boolean;
}

export interface PlainSpan {
  name: string;
  kind: SpanKind;
  context: PlainContext;
  parent?: PlainContext;
  startTime: HrTime;
  endTime: HrTime;
  duration: HrTime;
  status: SpanStatus;
  attributes: Attributes;
  links: Array<{ context: PlainContext; attributes?: Attributes; droppedAttributesCount?: number }>;
  events: TimedEvent[];
  scope: { name: string; version?: string; schemaUrl?: string };
  droppedAttributesCount: number;
  droppedEventsCount: number;
  droppedLinksCount: number;
  threadId: number;
}

/** Sent in the environment data of a traced worker: its channel and the span it runs under. */
export interface WorkerStartData {
  channel: string;
  parent?: PlainContext;
}

export { WORKER_DATA_KEY } from '../guard';

export function plainContext(sc: SpanContext): PlainContext {
  const ts = sc.traceState?.serialize();
  return { traceId: sc.traceId, spanId: sc.spanId, traceFlags: sc.traceFlags, ...(ts ? { traceState: ts } : {}), ...(sc.isRemote ? { isRemote: true } : {}) };
}

export function spanContextOf(p: PlainContext, api: typeof import('@opentelemetry/api'), remote = p.isRemote === true): SpanContext {
  return { traceId: p.traceId, spanId: p.spanId, traceFlags: p.traceFlags, isRemote: remote, ...(p.traceState ? { traceState: api.createTraceState(p.traceState) } : {}) };
}

export function plainSpan(s: ReadableSpan, threadId: number): PlainSpan {
  return {
    name: s.name,
    kind: s.kind,
    context: plainContext(s.spanContext()),
    ...(s.parentSpanContext ? { parent: plainContext(s.parentSpanContext) } : {}),
    startTime: s.startTime,
    endTime: s.endTime,
    duration: s.duration,
    status: s.status,
    attributes: s.attributes,
    links: s.links.map((l) => ({ context: plainContext(l.context), ...(l.attributes ? { attributes: l.attributes } : {}), ...(l.droppedAttributesCount ? { droppedAttributesCount: l.droppedAttributesCount } : {}) })),
    events: s.events,
    scope: { ...s.instrumentationScope },
    droppedAttributesCount: s.droppedAttributesCount,
    droppedEventsCount: s.droppedEventsCount,
    droppedLinksCount: s.droppedLinksCount,
    threadId,
  };
}

/** The span as this thread's processors expect it, under this thread's resource, with the worker's `thread.id`. */
export function readableSpan(p: PlainSpan, resource: Resource, api: typeof import('@opentelemetry/api')): ReadableSpan {
  const sc = spanContextOf(p.context, api, false);
  const links: Link[] = p.links.map((l) => ({ context: spanContextOf(l.context, api), ...(l.attributes ? { attributes: l.attributes } : {}), ...(l.droppedAttributesCount ? { droppedAttributesCount: l.droppedAttributesCount } : {}) }));
  return {
    name: p.name,
    kind: p.kind,
    spanContext: () => sc,
    ...(p.parent ? { parentSpanContext: spanContextOf(p.parent, api) } : {}),
    startTime: p.startTime,
    endTime: p.endTime,
    duration: p.duration,
    ended: true,
    status: p.status,
    // A span that names its thread (a nested worker's lifetime span) keeps it.
    attributes: { 'thread.id': p.threadId, ...p.attributes },
    links,
    events: p.events,
    resource,
    instrumentationScope: p.scope,
    droppedAttributesCount: p.droppedAttributesCount,
    droppedEventsCount: p.droppedEventsCount,
    droppedLinksCount: p.droppedLinksCount,
  };
}
