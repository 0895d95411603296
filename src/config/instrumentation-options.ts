import type { InstrumentationDescriptor, InstrumentationOption } from '../catalog/types';
import { booleanVar, listVar, numberVar, stringVar } from './kinds';
import type { Env } from './parse';
import type { VarSpec } from './types';

export const OPTION_PREFIX = 'OTEL_NODE_INSTRUMENTATION_';

/** "socket.io" -> "SOCKET_IO"; "enhancedDatabaseReporting" -> "ENHANCED_DATABASE_REPORTING". */
export const envToken = (s: string): string =>
  s
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();

/** The one rule: OTEL_NODE_INSTRUMENTATION_<NAME>_<OPTION>, both in SCREAMING_SNAKE_CASE. */
export function optionVariable(instrumentation: string, option: string): string {
  return `${OPTION_PREFIX}${envToken(instrumentation)}_${envToken(option)}`;
}

const common = { group: 'instrumentations' as const, description: '', standard: false };
const PARSERS: Record<InstrumentationOption['type'], VarSpec<unknown>> = {
  boolean: booleanVar({ ...common, default: false }),
  number: numberVar({ ...common, integer: false }),
  string: stringVar(common),
  list: listVar({ ...common, default: [], lowercase: false }),
};

export interface InstrumentationOptions {
  /** Config objects by instrumentation name, ready for its constructor. */
  readonly byName: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  /** Variable=value lines for the effective-config view. */
  readonly applied: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * Reads every OTEL_NODE_INSTRUMENTATION_* variable against the instrumentations' known options
 * (generated from their config types). An unknown instrumentation or option, or a value of the
 * wrong type, is one warning naming the variable; the instrumentation keeps its own default.
 */
export function instrumentationOptions(env: Env, known: readonly InstrumentationDescriptor[]): InstrumentationOptions {
  const byName = new Map<string, Record<string, unknown>>();
  const applied: string[] = [];
  const warnings: string[] = [];
  // Longest names first, so that "mysql2" is not read as "mysql" with an option "2_...".
  const byToken = [...known].sort((a, b) => envToken(b.name).length - envToken(a.name).length);
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith(OPTION_PREFIX) || raw === undefined || raw.trim() === '') continue;
    const rest = key.slice(OPTION_PREFIX.length);
    const d = byToken.find((x) => rest.startsWith(`${envToken(x.name)}_`));
    if (d === undefined) {
      warnings.push(`${key} names no known instrumentation (the form is ${OPTION_PREFIX}<NAME>_<OPTION>, e.g. ${optionVariable('pg', 'enhancedDatabaseReporting')}); ignored`);
      continue;
    }
    const optionToken = rest.slice(envToken(d.name).length + 1);
    const option = (d.options ?? []).find((o) => envToken(o.name) === optionToken);
    if (option === undefined) {
      const names = (d.options ?? []).map((o) => envToken(o.name)).join(', ') || 'none';
      warnings.push(`${key}: instrumentation ${d.name} has no option ${optionToken} (settable options: ${names}); ignored`);
      continue;
    }
    const r = PARSERS[option.type].parse(raw);
    if (!r.ok) {
      warnings.push(`${key}=${JSON.stringify(raw)} ${r.reason} (${d.name}'s ${option.name} is a ${option.type}); ${d.name} keeps its default`);
      continue;
    }
    const config = byName.get(d.name) ?? {};
    setPath(config, option.name, r.value);
    byName.set(d.name, config);
    applied.push(`${key}=${raw.trim()} (${d.name}.${option.name})`);
  }
  const http = byName.get('http');
  if (http && Array.isArray(http.ignoreIncomingPaths)) byName.set('http', withIgnoredPaths(http, http.ignoreIncomingPaths as string[]));
  return { byName, applied, warnings };
}

/** "a.b.c" = v, creating the objects on the way. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = target;
  for (const k of keys.slice(0, -1)) {
    const next = o[k];
    o = (o[k] = typeof next === 'object' && next !== null ? next : {}) as Record<string, unknown>;
  }
  o[keys[keys.length - 1] as string] = value;
}

/**
 * Our own http option (the instrumentation has only a hook): requests whose path is one of
 * `paths`, or starts with one ending in "*", get no server span.
 */
function withIgnoredPaths(config: Readonly<Record<string, unknown>>, paths: readonly string[]): Record<string, unknown> {
  const { ignoreIncomingPaths: _, ...rest } = config;
  const exact = new Set(paths.filter((p) => !p.endsWith('*')));
  const prefixes = paths.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return {
    ...rest,
    ignoreIncomingRequestHook: (req: { url?: string }) => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      return exact.has(path) || prefixes.some((p) => path.startsWith(p));
    },
  };
}
