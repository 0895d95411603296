import type { HrTime, TimeInput } from '@opentelemetry/api';

// HrTime arithmetic, as sdk-trace 3.0's Span (and @opentelemetry/core's time helpers) do it, so
// the same inputs give the same exported timestamps.

const NS_PER_S = 1e9;

/** Milliseconds since the epoch as [seconds, nanoseconds]. */
export function millisToHr(ms: number): HrTime {
  return [Math.trunc(ms / 1000), Math.round((ms % 1000) * 1e6)];
}

export function addHr(a: HrTime, b: HrTime): HrTime {
  const out: HrTime = [a[0] + b[0], a[1] + b[1]];
  if (out[1] >= NS_PER_S) {
    out[1] -= NS_PER_S;
    out[0] += 1;
  }
  return out;
}

/** addHr(start, millisToHr(ms)) in one array: the same arithmetic, no intermediate. */
export function afterHr(start: HrTime, ms: number): HrTime {
  let sec = start[0] + Math.trunc(ms / 1000);
  let ns = start[1] + Math.round((ms % 1000) * 1e6);
  if (ns >= NS_PER_S) {
    ns -= NS_PER_S;
    sec += 1;
  }
  return [sec, ns];
}

/** Whether durationHr(start, end) would be negative, without building it. */
export function endsBefore(start: HrTime, end: HrTime): boolean {
  return end[0] - start[0] - (end[1] - start[1] < 0 ? 1 : 0) < 0;
}

export function durationHr(start: HrTime, end: HrTime): HrTime {
  let s = end[0] - start[0];
  let ns = end[1] - start[1];
  if (ns < 0) {
    s -= 1;
    ns += NS_PER_S;
  }
  return [s, ns];
}

export function isHrTime(v: unknown): v is HrTime {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number';
}

export function isTimeInput(v: unknown): v is TimeInput {
  return typeof v === 'number' || v instanceof Date || isHrTime(v);
}

/** What a span remembers of its start to turn later inputs into times. */
export interface Clock {
  readonly startTime: HrTime;
  /** Date.now() at the start. */
  readonly startMs: number;
  /** performance.now() at the start. */
  readonly startPerf: number;
  /** Whether the start time was given by the caller (then "now" is Date.now(), not start + elapsed). */
  readonly startGiven: boolean;
}

/**
 * A time input for a span event or end, as upstream reads it: a number not past
 * performance.now() is a performance timestamp (moved by the drift between the two clocks at the
 * span's start), a larger number epoch milliseconds; a Date; an HrTime as given; nothing: now.
 */
export function spanTime(c: Clock, t: TimeInput | undefined): HrTime {
  if (typeof t === 'number') {
    if (t <= performance.now()) {
      const offset = c.startMs - (c.startPerf + performance.timeOrigin);
      return addHr(millisToHr(performance.timeOrigin), millisToHr(t + offset));
    }
    return millisToHr(t);
  }
  if (t instanceof Date) return millisToHr(t.getTime());
  if (isHrTime(t)) return t;
  if (c.startGiven) return millisToHr(Date.now());
  return afterHr(c.startTime, performance.now() - c.startPerf);
}
