export const REDACTED = '[REDACTED]';

// scheme://userinfo@ : the whole userinfo goes, as a token is often the user part alone.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s"'<>]*@/gi;

/** Secrets shorter than this are not searched for in free text: they would match ordinary words. */
const MIN_SECRET = 4;

let secrets: readonly string[] = [];

/** URL userinfo anywhere in a text, as `scheme://REDACTED@`. */
export function redactUserinfo(text: string): string {
  return text.replace(USERINFO, '$1REDACTED@');
}

/** What redact() removes from now on, besides URL userinfo (longest first, so a secret that contains another goes whole). */
export function setSecrets(list: readonly string[]): void {
  secrets = [...new Set(list.filter((s) => s.length >= MIN_SECRET))].sort((a, b) => b.length - a.length);
}

/** A text as it may be shown or exported: URL userinfo and the configured secrets replaced. */
export function redact(text: string): string {
  let t = redactUserinfo(text);
  for (const s of secrets) if (t.includes(s)) t = t.split(s).join(REDACTED);
  return t;
}

/** redact() over every string in a JSON-like value (a report about to be printed or written). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v)) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactDeep(v)])) as T;
  return value;
}
