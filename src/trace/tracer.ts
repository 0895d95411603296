import type { Attributes, Context, Link, Span, SpanContext, SpanOptions, Tracer, TracerOptions, TracerProvider } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { Sampler, SamplingResult, SpanProcessor } from '@opentelemetry/sdk-trace';
import { cleanAny, cleanCount, cleanedPart, type SpanLimits, tally } from './attributes';
import { SPAN_KEY, withValue } from './context';
import { OwnedAttributes } from './owned';
import { spanId, traceId } from './ids';
import { LeanSpan, type Processors, type Shared } from './span';
import { SUPPRESS_TRACING } from './suppress';

type Api = typeof import('@opentelemetry/api');


export interface LeanOptions {
  readonly api: Api;
  readonly sampler: Sampler;
  readonly spanProcessors: readonly SpanProcessor[];
  readonly spanLimits: SpanLimits;
  readonly resource: Resource;
  /** Told once, the first time the sampler throws. */
  readonly warn: (message: string) => void;
}

/** What a tracer needs per span, kept in one place so a span start reads few objects. */
interface State {
  readonly api: Api;
  readonly sampler: Sampler;
  readonly shared: Shared;
  samplerFailed: (err: unknown) => void;
}

const NOT_SAMPLED: SamplingResult = Object.freeze({ decision: 0 });
// What the sampler is shown for a span started without attributes or links, one for all spans:
// frozen, so a sampler that wrote into them would throw (contained: not sampled, one warning)
// rather than change what later spans show it.
const NO_ATTRIBUTES: Attributes = Object.freeze({});
const NO_LINKS: Link[] = Object.freeze([]) as unknown as Link[];
const RECORD_AND_SAMPLED = 2;

/**
 * Our tracer: the sampler decides before anything else is done. A span not recorded costs its
 * ids and a non-recording span that carries the context on; no attribute is looked at. A recorded
 * one is a LeanSpan whose attributes and links are cleaned once, within the limits.
 */
export class LeanTracer implements Tracer {
  constructor(
    private readonly s: State,
    private readonly scope: InstrumentationScope,
  ) {}

  startSpan(name: string, options: SpanOptions = {}, context?: Context): Span {
    const { api, shared } = this.s;
    let ctx = context ?? api.context.active();
    if (options.root) ctx = api.trace.deleteSpan(ctx);
    if (ctx.getValue(SUPPRESS_TRACING) === true) return api.trace.wrapSpanContext(api.INVALID_SPAN_CONTEXT);
    const parentSpan = api.trace.getSpan(ctx);
    const parent = parentSpan?.spanContext();
    // Our own spans' contexts are valid by construction: the id checks (regular expressions) are
    // for contexts from elsewhere (propagators, wrapSpanContext).
    const valid = parent !== undefined && (parentSpan instanceof LeanSpan || api.trace.isSpanContextValid(parent));
    const trace = valid ? parent.traceId : traceId();
    const kind = options.kind ?? api.SpanKind.INTERNAL;
    let result: SamplingResult;
    try {
      // The caller's own attributes and links: the sampler decides before they are copied.
      // A plugin's sampler that returns nothing is taken as "not sampled" too.
      result = this.s.sampler.shouldSample(ctx, trace, name, kind, options.attributes ?? NO_ATTRIBUTES, options.links ?? NO_LINKS) ?? NOT_SAMPLED;
    } catch (err) {
      this.s.samplerFailed(err);
      result = NOT_SAMPLED;
    }
    const sc: SpanContext = {
      traceId: trace,
      spanId: spanId(),
      traceFlags: result.decision === RECORD_AND_SAMPLED ? 1 : 0,
      traceState: result.traceState ?? (valid ? parent.traceState : undefined),
    };
    if (result.decision !== 1 && result.decision !== RECORD_AND_SAMPLED) return api.trace.wrapSpanContext(sc);

    const limits = shared.limits;
    let attributes: Attributes = {};
    let dropped = 0;
    let count = 0;
    const extra = result.attributes;
    if (extra === undefined) {
      const given = options.attributes;
      if (given !== undefined) {
        // An object our instrumentation built for this span alone, already clean: kept as it is.
        if (options instanceof OwnedAttributes && (count = cleanCount(given, limits.attributeCountLimit, limits.attributeValueLengthLimit)) >= 0) {
          attributes = given;
        } else {
          // Cleaning once within the limits drops and counts exactly what upstream's two passes
          // (unlimited for the sampler, then limited) do, when the sampler adds nothing.
          dropped = cleanAny(attributes, given, limits.attributeCountLimit, limits.attributeValueLengthLimit);
          count = tally.kept;
        }
      }
    } else {
      const merged: Attributes = {};
      if (options.attributes !== undefined) dropped = cleanAny(merged, options.attributes, Infinity, Infinity);
      Object.assign(merged, extra);
      dropped += cleanAny(attributes, merged, limits.attributeCountLimit, limits.attributeValueLengthLimit);
      count = tally.kept;
    }
    let links: Link[] | undefined;
    if (options.links !== undefined && options.links.length > 0) {
      links = options.links.map((l) => ({ context: l.context, ...cleanedPart(l.attributes, limits.attributePerLinkCountLimit, limits.attributeValueLengthLimit, false) }));
    }
    const span = new LeanSpan(shared, sc, name, kind, valid ? parent : undefined, this.scope, attributes, count, dropped, links, options.startTime);
    const starts = shared.processors.onStart;
    for (let i = 0; i < starts.length; i++) starts[i]!.onStart(span, ctx);
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, context: Context, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, a2?: SpanOptions | F, a3?: Context | F, a4?: F): ReturnType<F> | undefined {
    // The overloads told apart by the argument count, as upstream does.
    let options: SpanOptions | undefined;
    let ctx: Context | undefined;
    let fn: F;
    if (arguments.length < 2) return undefined;
    if (arguments.length === 2) fn = a2 as F;
    else if (arguments.length === 3) {
      options = a2 as SpanOptions;
      fn = a3 as F;
    } else {
      options = a2 as SpanOptions;
      ctx = a3 as Context;
      fn = a4 as F;
    }
    const api = this.s.api;
    const parent = ctx ?? api.context.active();
    const span = this.startSpan(name, options, parent);
    // api.trace.setSpan, at one small object (context.ts)
    return api.context.with(withValue(parent, SPAN_KEY, span), fn as (s: Span) => ReturnType<F>, undefined, span);
  }
}

function splitProcessors(ps: readonly SpanProcessor[]): Processors {
  const has = (name: 'onStart' | 'onEnding' | 'onEnd') => ps.filter((p) => typeof p[name] === 'function');
  return { onStart: has('onStart'), onEnding: has('onEnding'), onEnd: has('onEnd') };
}

/** The tracer provider behind @opentelemetry/api when OTEL_NODE_TRACER=lean (the default). */
export class LeanTracerProvider implements TracerProvider {
  private readonly tracers = new Map<string, LeanTracer>();
  private readonly state: State;

  constructor(private readonly o: LeanOptions) {
    const l = o.spanLimits;
    // A length limit of 0 or less means none, with upstream (its warning aside).
    const limits = { ...l, attributeValueLengthLimit: l.attributeValueLengthLimit > 0 ? l.attributeValueLengthLimit : Infinity };
    const shared: Shared = { limits, resource: o.resource, processors: splitProcessors(o.spanProcessors), diag: o.api.diag };
    let told = false;
    const samplerFailed = (err: unknown): void => {
      if (told) return;
      told = true;
      o.warn(`the sampler threw (${err instanceof Error ? err.message : String(err)}); spans it was asked about are not sampled, and later throws are not reported`);
    };
    this.state = { api: o.api, sampler: o.sampler, shared, samplerFailed };
  }

  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    const key = `${name}@${version ?? ''}:${options?.schemaUrl ?? ''}`;
    let t = this.tracers.get(key);
    if (t === undefined) this.tracers.set(key, (t = new LeanTracer(this.state, { name, version, schemaUrl: options?.schemaUrl })));
    return t;
  }

  async forceFlush(): Promise<void> {
    await Promise.all(this.o.spanProcessors.map((p) => p.forceFlush()));
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.o.spanProcessors.map((p) => p.shutdown()));
  }
}
