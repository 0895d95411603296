import { TABLE, VAR_NAMES, type Values, type VarName } from './table';
import type { VarSpec } from './types';

/** Where a value came from; flags are otel-instrument's command-line options. */
export type Source = 'flag' | 'env' | 'default';

export interface Config {
  readonly values: Values;
  readonly sources: { readonly [K in VarName]: Source };
  /** One line per refused or partly refused variable, naming it, its value and what was used. */
  readonly warnings: readonly string[];
}

export type Env = Readonly<Record<string, string | undefined>>;

const REDACTED = '[REDACTED]';

function quote(spec: VarSpec<unknown>, raw: string): string {
  return spec.sensitive ? REDACTED : JSON.stringify(raw);
}

function shown(spec: VarSpec<unknown>, value: unknown): string {
  const text = spec.show(value);
  return spec.sensitive && text !== '' ? REDACTED : text;
}

/**
 * Blank counts as unset (the SDK environment spec); a bad value warns once and falls back to the
 * default. `flags` (otel-instrument's options, same names) win over `env`.
 */
export function parseConfig(env: Env, flags: Env = {}): Config {
  const values: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  const warnings: string[] = [];
  for (const name of VAR_NAMES) {
    const spec: VarSpec<unknown> = TABLE[name];
    const fromFlag = flags[name] !== undefined && flags[name].trim() !== '';
    const raw = fromFlag ? flags[name] : env[name];
    values[name] = spec.default;
    sources[name] = 'default';
    if (raw === undefined || raw.trim() === '') continue;
    const r = spec.parse(raw);
    if (r.ok) {
      values[name] = r.value;
      sources[name] = fromFlag ? 'flag' : 'env';
      if (r.note !== undefined) warnings.push(`${name}=${quote(spec, raw)} ${r.note}; using "${shown(spec, r.value)}"`);
    } else {
      const fallback = spec.defaultLabel === '' ? 'leaving it unset' : `using the default "${spec.defaultLabel}"`;
      warnings.push(`${name}=${quote(spec, raw)} ${r.reason}; ${fallback}`);
    }
  }
  return Object.freeze({ values: Object.freeze(values) as Values, sources: Object.freeze(sources) as Config['sources'], warnings: Object.freeze(warnings) });
}

/** The effective configuration, one `NAME=value (source)` per line, secrets redacted. */
export function describeConfig(config: Config): string[] {
  return VAR_NAMES.map((name) => {
    const spec: VarSpec<unknown> = TABLE[name];
    return `${name}=${shown(spec, config.values[name])} (${config.sources[name]})`;
  });
}
