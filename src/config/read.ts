import type { VarSpec } from './types';
import { REDACTED, redactUserinfo } from '../redact';

export type Env = Readonly<Record<string, string | undefined>>;

function quote(spec: VarSpec<unknown>, raw: string): string {
  // URL userinfo is a secret wherever it appears.
  return spec.sensitive ? REDACTED : JSON.stringify(redactUserinfo(raw));
}

export function shown(spec: VarSpec<unknown>, value: unknown): string {
  const text = spec.show(value);
  return spec.sensitive && text !== '' ? REDACTED : text;
}

/** Blank counts as unset (the SDK environment spec). */
export const isSet = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

/**
 * One raw value through its spec: the value to use (undefined: the default) and, for a refused
 * or partly refused value, the one warning naming the variable (as `shownName`), the value and
 * what was used instead.
 */
export function readOne<T>(spec: VarSpec<T>, raw: string, shownName: string): { ok: boolean; value: T; warning?: string } {
  const r = spec.parse(raw);
  if (r.ok) return r.note === undefined ? { ok: true, value: r.value } : { ok: true, value: r.value, warning: `${shownName}=${quote(spec, raw)} ${r.note}; using "${shown(spec, r.value)}"` };
  const fallback =
    spec.defaultLabel !== ''
      ? spec.defaultLabel.startsWith('OTEL_')
        ? `using ${spec.defaultLabel}`
        : `using the default "${spec.defaultLabel}"`
      : spec.unsetLabel !== undefined
        ? `using ${spec.unsetLabel}`
        : 'leaving it unset';
  return { ok: false, value: spec.default, warning: `${shownName}=${quote(spec, raw)} ${r.reason}; ${fallback}` };
}

type ValuesOf<S extends Record<string, VarSpec<unknown>>> = { readonly [K in keyof S]: S[K] extends VarSpec<infer T> ? T : never };

/** A few variables of the table from the environment alone, each as parseConfig would read it. */
export function readVars<S extends Record<string, VarSpec<unknown>>>(specs: S, env: Env): { values: ValuesOf<S>; warnings: string[] } {
  const values: Record<string, unknown> = {};
  const warnings: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    const raw = env[name];
    if (!isSet(raw)) {
      values[name] = spec.default;
      continue;
    }
    const r = readOne(spec, raw, name);
    values[name] = r.value;
    if (r.warning !== undefined) warnings.push(r.warning);
  }
  return { values: values as ValuesOf<S>, warnings };
}
