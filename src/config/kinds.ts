import { existsSync, statSync } from 'node:fs';
import type { ParseResult, VarGroup, VarKind, VarSpec } from './types';
import { redactUserinfo } from '../redact';

interface Common {
  group: VarGroup;
  description: string;
  sensitive?: boolean;
  /** Defaults to true; false marks our own OTEL_NODE_* additions. */
  standard?: boolean;
  /** With no default: what applies when unset ("no limit", another variable's value). */
  unset?: string;
}

const ok = <T>(value: T, note?: string): ParseResult<T> => (note === undefined ? { ok: true, value } : { ok: true, value, note });
const bad = <T>(reason: string): ParseResult<T> => ({ ok: false, reason });

function spec<T>(c: Common, kind: VarKind, rest: Omit<VarSpec<T>, 'group' | 'kind' | 'description' | 'sensitive' | 'standard'>): VarSpec<T> {
  return { group: c.group, kind, description: c.description, sensitive: c.sensitive ?? false, standard: c.standard ?? true, ...(c.unset !== undefined ? { unsetLabel: c.unset } : {}), ...rest };
}

/** The spec: only a case-insensitive "true" is true; anything else but "false" is a warning. */
export function booleanVar(c: Common & { default: boolean }): VarSpec<boolean> {
  return spec(c, 'boolean', {
    typeLabel: 'boolean',
    default: c.default,
    defaultLabel: String(c.default),
    parse(raw) {
      const v = raw.trim().toLowerCase();
      if (v === 'true') return ok(true);
      if (v === 'false') return ok(false);
      return bad('is not "true" or "false"');
    },
    show: String,
  });
}

export function stringVar(c: Common & { default?: string }): VarSpec<string | undefined> {
  return spec(c, 'string', {
    typeLabel: 'string',
    default: c.default,
    defaultLabel: c.default ?? '',
    parse: (raw) => ok(raw.trim()),
    show: (v) => v ?? '',
  });
}

/** `inherits` names the variable whose value applies when this one is unset (per-signal variants). */
export function enumVar<const A extends readonly string[]>(c: Common & { allowed: A; default: A[number]; inherits?: string }): VarSpec<A[number]> {
  return spec(c, 'enum', {
    typeLabel: `one of ${c.allowed.join('|')}`,
    default: c.default,
    defaultLabel: c.inherits ?? c.default,
    allowed: c.allowed,
    parse(raw) {
      const v = raw.trim().toLowerCase();
      const hit = c.allowed.find((a) => a === v);
      return hit === undefined ? bad(`is not one of ${c.allowed.join(', ')}`) : ok(hit);
    },
    show: (v) => v,
  });
}

/**
 * A comma-separated list. With `allowed`, unknown entries are dropped (named in the note);
 * if nothing valid is left the whole value is refused and the default applies.
 */
export function listVar<const A extends readonly string[] = readonly string[]>(
  c: Common & { allowed?: A; default: readonly string[]; lowercase?: boolean },
): VarSpec<readonly string[]> & { readonly allowed?: A } {
  // The allowed entries keep their literal types: start()'s typed options are derived from them.
  const out: VarSpec<readonly string[]> = spec(c, 'list', {
    typeLabel: c.allowed ? `list of ${c.allowed.join('|')}` : 'comma-separated list',
    default: c.default,
    defaultLabel: c.default.join(','),
    ...(c.allowed ? { allowed: c.allowed } : {}),
    parse(raw) {
      const items = raw
        .split(',')
        .map((s) => (c.lowercase === false ? s.trim() : s.trim().toLowerCase()))
        .filter((s) => s.length > 0);
      const uniq = [...new Set(items)];
      if (!c.allowed) return ok(uniq);
      const allowed: readonly string[] = c.allowed;
      const unknown = uniq.filter((s) => !allowed.includes(s));
      const known = uniq.filter((s) => allowed.includes(s));
      if (unknown.length === 0) return ok(known);
      const reason = `has ${unknown.map((u) => `"${u}"`).join(', ')}, not one of ${c.allowed.join(', ')}`;
      if (known.length === 0) return bad(reason);
      return ok(known, `${reason}; ignored`);
    },
    show: (v) => v.join(','),
  });
  // spec() keeps c.allowed as it is, so its literal type holds.
  return out as VarSpec<readonly string[]> & { readonly allowed?: A };
}

/** The longest delay Node's timers take (2^31 - 1 ms); a longer one fires after 1 ms, with a warning of Node's. */
export const TIMER_MAX_MS = 2 ** 31 - 1;
/** Items a queue may hold: a bound that memory can honour (at 1 KiB a span, 1 GiB and as much again in retries). */
export const QUEUE_MAX_ITEMS = 1_000_000;

/**
 * A number; whole unless `integer` is false. Out of range is a bad value like any other: the
 * default is used, never a clamped or rounded guess.
 */
export function numberVar(c: Common & { default?: number; min?: number; max?: number; integer?: boolean; maxReason?: string }): VarSpec<number | undefined> {
  const integer = c.integer ?? true;
  const max = c.max ?? (integer ? Number.MAX_SAFE_INTEGER : undefined);
  const what = integer ? 'whole number' : 'number';
  const range = c.min !== undefined && c.max !== undefined ? ` from ${c.min} to ${c.max}` : c.min !== undefined ? ` >= ${c.min}` : '';
  return spec(c, 'number', {
    typeLabel: `${what}${range}`,
    default: c.default,
    defaultLabel: c.default === undefined ? '' : String(c.default),
    ...(c.min !== undefined ? { min: c.min } : {}),
    ...(max !== undefined ? { max } : {}),
    integer,
    parse(raw) {
      const t = raw.trim();
      const n = Number(t);
      if (t === '' || !Number.isFinite(n)) return bad('is not a number');
      if (integer && !Number.isInteger(n)) return bad('is not a whole number');
      if (c.min !== undefined && n < c.min) return bad(`is less than ${c.min}`);
      if (max !== undefined && n > max) return bad(`is more than ${max}${c.maxReason !== undefined ? ` (${c.maxReason})` : ''}`);
      return ok(n);
    },
    show: (v) => (v === undefined ? '' : String(v)),
  });
}

/** Milliseconds that end up in a timer. */
export function msVar(c: Common & { default?: number; min?: number }): VarSpec<number | undefined> {
  return numberVar({ ...c, max: TIMER_MAX_MS, maxReason: "the longest delay Node's timers allow" });
}

/** A number of items a queue or a batch holds. */
export function itemsVar(c: Common & { default?: number }): VarSpec<number | undefined> {
  return numberVar({ ...c, min: 1, max: QUEUE_MAX_ITEMS, maxReason: 'the most a queue may hold in memory' });
}

/** A URL as it may be shown: its userinfo is replaced whole (a token is often the user part alone). */
export function redactUrl(url: string): string {
  return redactUserinfo(url);
}

/** host:port with no scheme, as people write a collector's address (ipv6 in brackets). */
const HOST_PORT = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d{1,5}(\/\S*)?$/i;

/**
 * An absolute http(s) URL; anything else is refused so the exporter never gets a malformed
 * endpoint. A bare host:port is taken as http://host:port, with one warning saying so.
 */
export function urlVar(c: Common & { default?: string }): VarSpec<string | undefined> {
  return spec(c, 'url', {
    typeLabel: 'URL',
    default: c.default,
    defaultLabel: c.default ?? '',
    parse(raw) {
      const t = raw.trim();
      if (HOST_PORT.test(t)) return ok(`http://${t}`, 'has no scheme');
      let u: URL;
      try {
        u = new URL(t);
      } catch {
        return bad('is not an absolute URL');
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return bad(`has scheme "${u.protocol}", not http: or https:`);
      return ok(t);
    },
    show: (v) => (v === undefined ? '' : redactUrl(v)),
  });
}

/**
 * The W3C-baggage-like `key=value,key2=value2` form used by OTEL_RESOURCE_ATTRIBUTES and
 * OTEL_EXPORTER_OTLP_HEADERS; values are percent-decoded. A malformed pair is dropped, the rest kept.
 */
export function keyValueVar(c: Common): VarSpec<Readonly<Record<string, string>>> {
  return spec(c, 'key-value', {
    typeLabel: 'key=value,...',
    default: {},
    defaultLabel: '',
    parse(raw) {
      const out: Record<string, string> = {};
      const badPairs: string[] = [];
      for (const part of raw.split(',')) {
        if (part.trim() === '') continue;
        const eq = part.indexOf('=');
        const key = eq > 0 ? part.slice(0, eq).trim() : '';
        if (key === '') {
          badPairs.push(part.trim());
          continue;
        }
        const value = part.slice(eq + 1).trim();
        try {
          out[decodeURIComponent(key)] = decodeURIComponent(value);
        } catch {
          badPairs.push(key);
        }
      }
      if (badPairs.length === 0) return ok(out);
      // Never echo a sensitive pair's text: it may be half of a secret.
      const what = c.sensitive ? `${badPairs.length} malformed entr${badPairs.length === 1 ? 'y' : 'ies'}` : badPairs.map((b) => `"${b}"`).join(', ');
      const reason = `has ${what} (expected key=value, percent-encoded)`;
      if (Object.keys(out).length === 0) return bad(reason);
      return ok(out, `${reason}; ignored`);
    },
    show: (v) =>
      Object.entries(v)
        .map(([k, val]) => `${k}=${val}`)
        .join(','),
  });
}

/** A path to a file that must exist when the process starts (certificates, keys). */
export function fileVar(c: Common): VarSpec<string | undefined> {
  return spec(c, 'file', {
    typeLabel: 'file path',
    default: undefined,
    defaultLabel: '',
    parse(raw) {
      const t = raw.trim();
      try {
        if (!existsSync(t) || !statSync(t).isFile()) return bad('is not a readable file');
      } catch {
        return bad('is not a readable file');
      }
      return ok(t);
    },
    show: (v) => v ?? '',
  });
}
