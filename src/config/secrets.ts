import { setSecrets } from '../redact';
import { TABLE, VAR_NAMES, type Values } from './table';
import type { VarSpec } from './types';

/**
 * The values the configuration marks secret (header values and every sensitive variable) and the
 * userinfo of every URL it holds, each also percent-encoded, as a URL or a header string carries it.
 */
export function secretsOf(values: Values): string[] {
  const out: string[] = [];
  const add = (s: string): void => {
    out.push(s, safeEncode(s));
  };
  for (const name of VAR_NAMES) {
    const spec: VarSpec<unknown> = TABLE[name];
    const value: unknown = values[name];
    if (spec.sensitive) {
      if (typeof value === 'string') add(value);
      else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) if (typeof v === 'string') add(v);
    } else if (typeof value === 'string' && value.includes('@')) {
      for (const part of userinfoOf(value)) add(part);
    }
  }
  return out;
}

/** From now on, this process's logs, reports and self-metrics leave these values out. */
export function useSecrets(values: Values): void {
  setSecrets(secretsOf(values));
}

function userinfoOf(url: string): string[] {
  try {
    const u = new URL(url);
    return [u.username, u.password].filter((p) => p !== '').flatMap((p) => [p, safeDecode(p)]);
  } catch {
    return [];
  }
}

function safeEncode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return s;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
