/** What the receiver keeps, whichever encoding it came in: the shapes the JSON API serves. */

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };
export type Attributes = Record<string, Value>;

export interface SpanEvent {
  readonly name: string;
  readonly timeMs: number;
  readonly attributes: Attributes;
}

export interface SpanLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: Attributes;
}

export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  /** SPAN_KIND_* without the prefix, lower case: internal, server, client, producer, consumer. */
  readonly kind: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly attributes: Attributes;
  readonly events: SpanEvent[];
  readonly links: SpanLink[];
  /** unset, ok or error. */
  readonly status: { readonly code: string; readonly message: string };
  readonly service: string;
  readonly scope: string;
  readonly resource: Attributes;
}

export interface Point {
  readonly timeMs: number;
  /** Sum/gauge: the value. Histograms, summaries: the mean (sum / count), charted over time. */
  readonly value: number;
  readonly count?: number;
  readonly sum?: number;
  readonly min?: number;
  readonly max?: number;
}

export interface MetricPoints {
  readonly service: string;
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  /** gauge, sum, histogram, exponential_histogram, summary. */
  readonly type: string;
  readonly monotonic: boolean;
  readonly series: { readonly attributes: Attributes; readonly point: Point }[];
}

export interface LogRecord {
  readonly timeMs: number;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly body: Value;
  readonly attributes: Attributes;
  readonly traceId: string;
  readonly spanId: string;
  readonly service: string;
  readonly scope: string;
}

/** Longer strings are cut here at decode time, so one huge attribute cannot blow the byte budget's estimate. */
export const MAX_STRING = 4096;

export function clip(s: string): string {
  return s.length > MAX_STRING ? `${s.slice(0, MAX_STRING)}…` : s;
}

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
export const kindName = (n: number): string => KINDS[n] ?? 'unspecified';
const STATUS = ['unset', 'ok', 'error'];
export const statusName = (n: number): string => STATUS[n] ?? 'unset';

/** Nanoseconds since the epoch to milliseconds (float). */
export const nsToMs = (ns: number): number => ns / 1e6;
