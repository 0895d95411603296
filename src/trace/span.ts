import type { Attributes, AttributeValue, Context, Exception, HrTime, Link, Span, SpanAttributes, SpanContext, SpanKind, SpanStatus, TimeInput } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';
import { Added, addAttribute, cleanedPart, type SpanLimits } from './attributes';
import { type Clock, durationHr, endsBefore, isTimeInput, millisToHr, spanTime } from './time';

/** What every span of one provider shares: its limits, resource and processors. */
export interface Shared {
  readonly limits: SpanLimits;
  readonly resource: Resource;
  readonly processors: Processors;
  /** api.diag, for upstream's warnings about misuse (ended spans). */
  readonly diag: { warn(message: string): void };
}

/** The span processors, split by the hooks they have, so the hot path loops only over real ones. */
export interface Processors {
  readonly onStart: readonly { onStart(span: ReadableSpan & Span, parent: Context): void }[];
  readonly onEnding: readonly { onEnding?(span: ReadableSpan & Span): void }[];
  readonly onEnd: readonly { onEnd(span: ReadableSpan): void }[];
}

// Shared until a span gets its own: a span with no links or events, and every unended one's end
// and duration, allocate nothing for them. Frozen: a processor writing into them cannot corrupt another span.
const NO_LINKS: Link[] = Object.freeze([]) as unknown as Link[];
const NO_EVENTS: TimedEvent[] = Object.freeze([]) as unknown as TimedEvent[];
const NOT_ENDED: HrTime = Object.freeze([0, 0]) as unknown as HrTime;
const NO_DURATION: HrTime = Object.freeze([-1, -1]) as unknown as HrTime;
const UNSET: SpanStatus = Object.freeze({ code: 0 });
const OK = 1;
const ERROR = 2;

/**
 * A recorded span: plain fields, one object besides its attributes and context. It is both the
 * api `Span` the instrumentation writes to and the sdk-trace `ReadableSpan` that span processors
 * and exporters read, with sdk-trace 3.0's Span semantics wherever they show in an export.
 */
export class LeanSpan implements Span, ReadableSpan, Clock {
  links: Link[] = NO_LINKS;
  events: TimedEvent[] = NO_EVENTS;
  status: SpanStatus = UNSET;
  endTime: HrTime = NOT_ENDED;
  /** Built on the first read of `duration` (span processors and exporters rarely read it). */
  private elapsed: HrTime | undefined;
  ended = false;
  droppedEventsCount = 0;
  droppedLinksCount = 0;
  readonly startTime: HrTime;
  readonly startMs: number;
  readonly startPerf: number;
  readonly startGiven: boolean;
  readonly resource: Resource;

  constructor(
    private readonly shared: Shared,
    private readonly context: SpanContext,
    public name: string,
    public readonly kind: SpanKind,
    public readonly parentSpanContext: SpanContext | undefined,
    public readonly instrumentationScope: InstrumentationScope,
    /** Already cleaned within the limits. */
    public readonly attributes: Attributes,
    /** How many entries `attributes` has. */
    private attributeCount: number,
    public droppedAttributesCount: number,
    /** Already cleaned; the link count limit is applied here. */
    links: Link[] | undefined,
    start: TimeInput | undefined,
  ) {
    this.resource = shared.resource;
    this.startMs = Date.now();
    this.startPerf = performance.now();
    this.startGiven = start !== undefined && start !== null;
    this.startTime = this.startGiven ? spanTime(this, start) : millisToHr(this.startMs);
    if (links !== undefined && links.length > 0) {
      // Upstream keeps the last links when there are too many.
      const max = shared.limits.linkCountLimit;
      if (links.length > max) {
        this.droppedLinksCount = links.length - max;
        this.links = links.slice(links.length - max);
      } else {
        this.links = links;
      }
    }
  }

  /** End minus start; [-1, -1] until the span ends, as upstream's. */
  get duration(): HrTime {
    if (this.endTime === NOT_ENDED) return NO_DURATION;
    return (this.elapsed ??= durationHr(this.startTime, this.endTime));
  }

  spanContext(): SpanContext {
    return this.context;
  }

  isRecording(): boolean {
    return !this.ended;
  }

  private endedAlready(): boolean {
    if (this.ended) this.shared.diag.warn(`Cannot execute the operation on ended Span {traceId: ${this.context.traceId}, spanId: ${this.context.spanId}}`);
    return this.ended;
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (this.endedAlready()) return this;
    const r = addAttribute(this.attributes, this.attributeCount, key, value, this.shared.limits);
    if (r === Added.New) this.attributeCount++;
    else if (r === Added.LimitReached) this.droppedAttributesCount++;
    return this;
  }

  setAttributes(attributes: SpanAttributes): this {
    for (const key in attributes) if (Object.prototype.hasOwnProperty.call(attributes, key)) this.setAttribute(key, attributes[key] as AttributeValue);
    return this;
  }

  addEvent(name: string, attributesOrTime?: SpanAttributes | TimeInput, time?: TimeInput): this {
    if (this.endedAlready()) return this;
    const limits = this.shared.limits;
    if (limits.eventCountLimit === 0) {
      this.droppedEventsCount++;
      return this;
    }
    if (this.events === NO_EVENTS) this.events = [];
    else if (this.events.length >= limits.eventCountLimit) {
      // The oldest goes, as upstream does.
      this.events.shift();
      this.droppedEventsCount++;
    }
    let attributes: unknown = attributesOrTime;
    if (isTimeInput(attributesOrTime)) {
      if (!isTimeInput(time)) time = attributesOrTime;
      attributes = undefined;
    }
    this.events.push({ name, time: spanTime(this, time), ...cleanedPart(attributes, limits.attributePerEventCountLimit, limits.attributeValueLengthLimit, true) });
    return this;
  }

  addLink(link: Link): this {
    if (this.endedAlready()) return this;
    const limits = this.shared.limits;
    if (limits.linkCountLimit === 0) {
      this.droppedLinksCount++;
      return this;
    }
    if (this.links === NO_LINKS) this.links = [];
    else if (this.links.length >= limits.linkCountLimit) {
      this.links.shift();
      this.droppedLinksCount++;
    }
    this.links.push({ context: link.context, ...cleanedPart(link.attributes, limits.attributePerLinkCountLimit, limits.attributeValueLengthLimit, false) });
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  /** OK is final, UNSET changes nothing, a description is kept only with ERROR and only a string. */
  setStatus(status: SpanStatus): this {
    if (this.endedAlready() || status.code === 0 || this.status.code === OK) return this;
    this.status = status.code === ERROR && typeof status.message === 'string' ? { code: ERROR, message: status.message } : { code: status.code };
    return this;
  }

  updateName(name: string): this {
    if (!this.endedAlready()) this.name = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    if (this.ended) {
      this.shared.diag.warn(`${this.name} ${this.context.traceId}-${this.context.spanId} - You can only call end() on a span once.`);
      return;
    }
    let end = spanTime(this, endTime);
    if (endsBefore(this.startTime, end)) {
      end = this.startTime.slice() as HrTime;
      this.elapsed = [0, 0];
    }
    this.endTime = end;
    const p = this.shared.processors;
    for (let i = 0; i < p.onEnding.length; i++) p.onEnding[i]!.onEnding!(this);
    this.ended = true;
    for (let i = 0; i < p.onEnd.length; i++) p.onEnd[i]!.onEnd(this);
  }

  /** The event upstream records: exception.type (the code, else the name), .message, .stacktrace. */
  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') {
      attributes['exception.message'] = exception;
    } else if (exception) {
      if (exception.code) attributes['exception.type'] = exception.code.toString();
      else if (exception.name) attributes['exception.type'] = exception.name;
      if (exception.message) attributes['exception.message'] = exception.message;
      if (exception.stack) attributes['exception.stacktrace'] = exception.stack;
    }
    if (attributes['exception.type'] || attributes['exception.message']) this.addEvent('exception', attributes, time);
    else this.shared.diag.warn(`Failed to record an exception ${String(exception)}`);
  }
}
