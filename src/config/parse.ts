import { AT_MOST, TABLE, VAR_NAMES, type Values, type VarName } from './table';
import type { VarSpec } from './types';
import { type Env, isSet, readOne, shown } from './read';

/** Where a value came from; flags are otel-instrument's command-line options, options start()'s. */
export type Source = 'flag' | 'option' | 'env' | 'file' | 'distro' | 'default';

/**
 * The layer above the environment: otel-instrument's flags or start()'s options, both as raw
 * strings under the variables' names. `label` names a variable the way the user wrote it.
 */
export interface TopLayer {
  readonly values: Env;
  readonly source: 'flag' | 'option';
  readonly label?: (name: VarName) => string;
}

export interface Config {
  readonly values: Values;
  readonly sources: { readonly [K in VarName]: Source };
  /** One line per refused or partly refused variable, naming it, its value and what was used. */
  readonly warnings: readonly string[];
}

export type { Env } from './read';

/** Defaults a distro brings, and who brought them (for messages). */
export interface DistroDefaults {
  readonly values: Env;
  readonly from: string;
}

/**
 * Blank counts as unset (the SDK environment spec); a bad value warns once and falls back to the
 * default. Precedence: `flags` (otel-instrument's options, same names), then `env`, then the
 * config file, then a distro's defaults, then the table's.
 */
export function parseConfig(env: Env, top: Env | TopLayer = {}, distro?: DistroDefaults, file?: DistroDefaults): Config {
  const layer: TopLayer = isTopLayer(top) ? top : { values: top, source: 'flag' };
  const flags = layer.values;
  const values: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  const warnings: string[] = [];
  for (const name of VAR_NAMES) {
    const spec: VarSpec<unknown> = TABLE[name];
    const source: Source = isSet(flags[name]) ? layer.source : isSet(env[name]) ? 'env' : isSet(file?.values[name]) ? 'file' : isSet(distro?.values[name]) ? 'distro' : 'default';
    const raw = source === layer.source ? flags[name] : source === 'env' ? env[name] : source === 'file' ? file?.values[name] : distro?.values[name];
    values[name] = spec.default;
    sources[name] = 'default';
    if (raw === undefined || source === 'default') continue;
    const shownName = source === layer.source && layer.label ? layer.label(name) : source === 'distro' ? `${name} (default of distro ${distro?.from ?? ''})` : source === 'file' ? `${name} (from ${file?.from ?? ''})` : name;
    const r = readOne(spec, raw, shownName);
    if (r.ok) {
      values[name] = r.value;
      sources[name] = source;
    }
    if (r.warning !== undefined) warnings.push(r.warning);
  }
  for (const [small, big] of AT_MOST) {
    const a = values[small] as number;
    const b = values[big] as number;
    if (a === undefined || b === undefined || a <= b) continue;
    if (sources[small] !== 'default') warnings.push(`${small}=${a} is more than ${big} (${b}); using ${b}`);
    values[small] = b;
  }
  warnings.push(...typoWarnings(env));
  if (distro) {
    for (const k of Object.keys(distro.values)) if (!(VAR_NAMES as string[]).includes(k)) warnings.push(`distro ${distro.from}: default ${k} is not a variable otel-autoinstrument reads; ignored`);
  }
  return Object.freeze({ values: Object.freeze(values) as Values, sources: Object.freeze(sources) as Config['sources'], warnings: Object.freeze(warnings) });
}

function isTopLayer(top: Env | TopLayer): top is TopLayer {
  return typeof top.source === 'string' && typeof top.values === 'object';
}

/** The effective configuration, one `NAME=value (source)` per line, secrets redacted. */
export function describeConfig(config: Config): string[] {
  return VAR_NAMES.map((name) => {
    const spec: VarSpec<unknown> = TABLE[name];
    return `${name}=${shown(spec, config.values[name])} (${config.sources[name]})`;
  });
}

/** Edit distance, for "did you mean": names are short, so the plain O(n*m) table is fine. */
export function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * An OTEL_* variable we do not read but that is one or two edits from one we do is almost
 * certainly a typo (OTEL_SERVICE_NAM, OTEL_TRACE_EXPORTER). Others are left alone: other tools
 * read OTEL_* variables of their own.
 */
export function typoWarnings(env: Env): string[] {
  const known = new Set<string>(VAR_NAMES);
  const out: string[] = [];
  for (const key of Object.keys(env)) {
    if (!key.startsWith('OTEL_') || known.has(key) || key.startsWith('OTEL_NODE_INSTRUMENTATION_')) continue;
    let best: string | undefined;
    let bestD = 3;
    for (const name of VAR_NAMES) {
      if (Math.abs(name.length - key.length) >= bestD) continue;
      const d = distance(key, name);
      if (d < bestD) {
        bestD = d;
        best = name;
      }
    }
    if (best !== undefined) out.push(`${key} is not a variable otel-autoinstrument reads; did you mean ${best}?`);
  }
  return out;
}
