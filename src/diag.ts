import type { Logger, LogLevel } from './log';

let muted = 0;
let silenced = 0;

/**
 * Runs `fn` with the SDK's warnings muted. The OTLP exporters re-read OTEL_EXPORTER_OTLP_* from
 * the environment when constructed, even with explicit options, and warn again about values our
 * config table already refused and reported once.
 */
export function withSdkWarningsMuted<T>(fn: () => T): T {
  return during(fn, (d) => (muted += d));
}

/**
 * Runs `fn` with every SDK diagnostic silenced, errors too: for the exit-time send, where the
 * resource's asynchronous attributes can no longer be awaited and the SDK would call reading the
 * others an error.
 */
export function withSdkDiagSilenced<T>(fn: () => T): T {
  return during(fn, (d) => (silenced += d));
}

function during<T>(fn: () => T, count: (delta: number) => void): T {
  count(1);
  try {
    return fn();
  } finally {
    count(-1);
  }
}

const DIAG_LEVELS: Record<LogLevel, number> = { none: 0, error: 30, warn: 50, info: 60, debug: 70, verbose: 80, all: 9999 };

/**
 * The SDK's own diagnostics go through our logger, at OTEL_LOG_LEVEL, one line each, and each
 * distinct warning or error only once: a backend that is down must not flood the app's stderr.
 */
export function installDiag(api: typeof import('@opentelemetry/api'), log: Logger): void {
  if (log.level === 'none') return;
  const seen = new Set<string>();
  const line = (kind: 'error' | 'warn' | 'info' | 'debug') => (msg: string, ...args: unknown[]) => {
    const text = `sdk: ${[msg, ...args.map(argText)].join(' ')}`.replace(/\s*\n\s*/g, ' ');
    if (silenced > 0 || (muted > 0 && kind !== 'error')) return;
    if (kind === 'error' || kind === 'warn') {
      // Keyed without trace and span ids: an instrumentation that ends each span twice (restify
      // 0.69.0 with restify 12) would otherwise print a new pair of lines for every request.
      const key = text.replace(/\b(?:[0-9a-f]{32}|[0-9a-f]{16})\b/g, '<id>');
      if (seen.has(key) || seen.size > 100) return;
      seen.add(key);
    }
    log[kind](text);
  };
  api.diag.setLogger(
    { error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug'), verbose: line('debug') },
    { logLevel: DIAG_LEVELS[log.level], suppressOverrideMessage: true },
  );
}

function argText(a: unknown): string {
  if (typeof a === 'string') return a;
  // Errors, and the plain objects the SDK makes of them, are shown by their message only.
  if (a !== null && typeof a === 'object' && typeof (a as { message?: unknown }).message === 'string') return (a as { message: string }).message;
  return safeJson(a);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
