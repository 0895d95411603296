import { distance, type Env, type TopLayer } from './config/parse';
import { TABLE, VAR_NAMES, type Table, type VarName } from './config/table';
import type { VarSpec } from './config/types';

/** "TRACES_EXPORTER" -> "tracesExporter", at the type level. */
type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${Lowercase<H>}${Capitalize<Camel<T>>}` : Lowercase<S>;

/** The variables start() takes as options: every OTEL_* one (not those a platform sets, like AWS_LAMBDA_FUNCTION_NAME). */
export type OptionVar = Extract<VarName, `OTEL_${string}`>;
/** OTEL_TRACES_EXPORTER -> tracesExporter, OTEL_NODE_RUNTIME_METRICS -> nodeRuntimeMetrics: the otel-instrument flag, camel-cased. */
export type OptionName<V extends OptionVar> = V extends `OTEL_${infer R}` ? Camel<R> : never;

/** An option's value: the type the variable parses to; lists with a fixed set of entries take only those. */
type OptionValue<S> =
  S extends VarSpec<infer T>
    ? T extends readonly string[]
      ? S extends { readonly allowed?: infer A extends readonly string[] }
        ? readonly A[number][]
        : readonly string[]
      : NonNullable<T>
    : never;

/** One typed option per OTEL_* variable of the configuration table (docs/api.md lists them). */
export type ConfigOptions = { readonly [V in OptionVar as OptionName<V>]?: OptionValue<Table[V]> };

export interface StartOptions extends ConfigOptions {
  /** The environment read under the options; defaults to process.env. */
  readonly env?: Env;
  /**
   * Config objects by instrumentation short name (`http`, `pg`, ...), merged over what
   * OTEL_NODE_INSTRUMENTATION_* sets: here hooks can be functions, e.g.
   * `{ http: { ignoreIncomingRequestHook: (req) => req.url === '/health' } }`.
   */
  readonly instrumentations?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** OTEL_TRACES_EXPORTER -> tracesExporter (the same words as the --traces-exporter flag). */
export function optionName(name: string): string {
  return name
    .replace(/^OTEL_/, '')
    .toLowerCase()
    .replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export const OPTION_VARS = VAR_NAMES.filter((n): n is OptionVar => n.startsWith('OTEL_'));
const BY_OPTION = new Map<string, OptionVar>(OPTION_VARS.map((v) => [optionName(v), v]));
/** Keys of StartOptions that are not variables. */
const OWN_KEYS = new Set(['env', 'instrumentations']);

/**
 * An option's value in the form the variable is written in, so the table's parser validates it
 * exactly as it validates the environment: lists joined with commas, key=value maps
 * percent-encoded, anything else as a string.
 */
function raw(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String).join(',');
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join(',');
  }
  return String(value);
}

export interface OptionLayer {
  readonly layer: TopLayer;
  /** One per key that is not an option. */
  readonly warnings: readonly string[];
}

/** start()'s options as the layer above the environment (parse.ts), and a warning per unknown key. */
export function optionLayer(options: Readonly<Record<string, unknown>>): OptionLayer {
  const values: Record<string, string> = {};
  const warnings: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (OWN_KEYS.has(key)) continue;
    const name = BY_OPTION.get(key);
    if (name !== undefined) {
      const r = raw(value);
      if (r !== undefined) values[name] = r;
      continue;
    }
    warnings.push(`start() option ${key} is not an option${didYouMean(key)}; ignored`);
  }
  return { layer: { values, source: 'option', label: (n: VarName) => `start() option ${optionName(n)} (${n})` }, warnings };
}

function didYouMean(key: string): string {
  // An env name passed as a key (OTEL_SERVICE_NAME) maps straight to its option.
  const direct = BY_OPTION.get(optionName(key.toUpperCase()));
  if (direct !== undefined && key.toUpperCase() in TABLE) return ` (did you mean ${optionName(direct)}?)`;
  let best: string | undefined;
  let bestD = 3;
  for (const o of [...BY_OPTION.keys(), ...OWN_KEYS]) {
    const d = distance(key.toLowerCase(), o.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best === undefined ? '' : ` (did you mean ${best}?)`;
}
