import type { Attributes, AttributeValue } from '@opentelemetry/api';

// Attribute sanitizing with @opentelemetry/core 3.0's rules (common/attributes.ts), which decide
// what an exported span carries and what its dropped counts say:
// - span and link attributes take any OTLP AnyValue (scalars, null, byte arrays, arrays, plain
//   objects, nested); event attributes only "simple" values (scalars, homogeneous arrays);
// - undefined values vanish without counting; an empty key or an invalid value is dropped and,
//   when cleaning a whole set, counted; past the count limit every further value is counted;
// - arrays and objects are copied, strings (also inside them) cut to the value length limit.

/** The span limits, as src/sdk/sdk-options.ts spanLimits() gives them. */
export interface SpanLimits {
  readonly attributeCountLimit: number;
  readonly attributeValueLengthLimit: number;
  readonly eventCountLimit: number;
  readonly linkCountLimit: number;
  readonly attributePerEventCountLimit: number;
  readonly attributePerLinkCountLimit: number;
}

type Valid = (v: unknown) => boolean;

function anyValueIn(v: unknown, seen: WeakSet<object>): boolean {
  if (v === null || v instanceof Uint8Array) return true;
  if (seen.has(v as object)) return false;
  seen.add(v as object);
  if (Array.isArray(v)) {
    for (const item of v) if (item !== undefined && !isAnyValueDeep(item, seen)) return false;
    return true;
  }
  const ctor = (v as { constructor?: unknown }).constructor;
  if (ctor !== Object && ctor !== undefined) return false;
  for (const k of Object.keys(v as object)) {
    const item = (v as Record<string, unknown>)[k];
    if (item !== undefined && !isAnyValueDeep(item, seen)) return false;
  }
  return true;
}

function isAnyValueDeep(v: unknown, seen: WeakSet<object>): boolean {
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean') return true;
  return t === 'object' && anyValueIn(v, seen);
}

/** An OTLP AnyValue; a circular structure is not. Scalars cost no allocation. */
export function isAnyValue(v: unknown): boolean {
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean') return true;
  return t === 'object' && anyValueIn(v, new WeakSet());
}

const isScalarType = (t: string): boolean => t === 'string' || t === 'number' || t === 'boolean';

/** A scalar, or an array whose non-null items share one scalar type. */
export function isSimpleValue(v: unknown): boolean {
  if (!Array.isArray(v)) return isScalarType(typeof v);
  let type: string | undefined;
  for (const item of v as unknown[]) {
    if (item === null || item === undefined) continue;
    const t = typeof item;
    if (t === type) continue;
    if (type !== undefined || !isScalarType(t)) return false;
    type = t;
  }
  return true;
}

/** A copy of a valid value with its strings cut to `limit`; scalars come back as they are. */
export function copyValue(v: unknown, limit: number): unknown {
  if (typeof v === 'string') return v.length <= limit ? v : v.substring(0, limit);
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Uint8Array) return v.length <= limit ? v : v.slice(0, limit);
  if (Array.isArray(v)) return v.map((item: unknown) => copyValue(item, limit));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const item = (v as Record<string, unknown>)[k];
    if (item !== undefined) out[k] = copyValue(item, limit);
  }
  return out;
}

/**
 * How many entries the last clean kept: a span starts counting its attributes from it, where
 * Object.keys() would cost an array per span (7% of a sampled span in the tracer, measured).
 * Read right after the call; spans start on one thread, synchronously.
 */
export const tally = { kept: 0 };

/**
 * Copies the valid entries of `from` into `into` (a fresh object) within the limits; returns how
 * many were dropped. Entries past the count limit are counted whatever they are.
 */
function cleanInto(into: Attributes, from: Attributes, countLimit: number, lengthLimit: number, valid: Valid): number {
  let dropped = 0;
  let count = 0;
  for (const key in from) {
    if (!Object.prototype.hasOwnProperty.call(from, key)) continue;
    const v = from[key];
    if (v === undefined) continue;
    if (count >= countLimit || key.length === 0 || !valid(v)) {
      dropped++;
      continue;
    }
    into[key] = copyValue(v, lengthLimit) as AttributeValue;
    count++;
  }
  tally.kept = count;
  return dropped;
}

export function cleanAny(into: Attributes, from: Attributes, countLimit: number, lengthLimit: number): number {
  return cleanInto(into, from, countLimit, lengthLimit, isAnyValue);
}

export function cleanSimple(into: Attributes, from: Attributes, countLimit: number, lengthLimit: number): number {
  return cleanInto(into, from, countLimit, lengthLimit, isSimpleValue);
}

/**
 * How many entries `from` has when cleaning it would copy it unchanged: every value a defined
 * string (within the length limit), number or boolean under a non-empty key, no more entries
 * than the count limit. -1 otherwise. Allocates nothing.
 */
export function cleanCount(from: Attributes, countLimit: number, lengthLimit: number): number {
  let count = 0;
  for (const key in from) {
    if (!Object.prototype.hasOwnProperty.call(from, key)) return -1;
    const v = from[key];
    const t = typeof v;
    if (key.length === 0 || ++count > countLimit) return -1;
    if (t === 'string' ? (v as string).length > lengthLimit : t !== 'number' && t !== 'boolean') return -1;
  }
  return count;
}

/**
 * The attributes part of a link or event, spread as upstream spreads it: nothing when there were
 * no attributes (not an object), else the cleaned copy and its dropped count.
 */
export function cleanedPart(from: unknown, countLimit: number, lengthLimit: number, simple: boolean): { attributes?: Attributes; droppedAttributesCount?: number } {
  if (typeof from !== 'object' || from === null) return {};
  const attributes: Attributes = {};
  const droppedAttributesCount = cleanInto(attributes, from as Attributes, countLimit, lengthLimit, simple ? isSimpleValue : isAnyValue);
  return { attributes, droppedAttributesCount };
}

/** What setAttribute did: only a value refused by the count limit is counted as dropped. */
export enum Added {
  Ignored,
  LimitReached,
  New,
  Replaced,
}

/** One setAttribute: the count limit is checked before the value, as upstream's maybeAddAttribute does. */
export function addAttribute(attrs: Attributes, count: number, key: string, value: unknown, limits: SpanLimits): Added {
  if (value === undefined || key.length === 0) return Added.Ignored;
  const isNew = !Object.prototype.hasOwnProperty.call(attrs, key);
  if (isNew && count >= limits.attributeCountLimit) return Added.LimitReached;
  if (!isAnyValue(value)) return Added.Ignored;
  attrs[key] = copyValue(value, limits.attributeValueLengthLimit) as AttributeValue;
  return isNew ? Added.New : Added.Replaced;
}
