import { redact } from './redact';

export type LogLevel = 'none' | 'error' | 'warn' | 'info' | 'debug' | 'verbose' | 'all';

const RANK: Record<LogLevel, number> = { none: 0, error: 1, warn: 2, info: 3, debug: 4, verbose: 5, all: 6 };
const PREFIX = 'otel-autoinstrument';

export interface Logger {
  readonly level: LogLevel;
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  enabled(level: Exclude<LogLevel, 'none' | 'all'>): boolean;
}

/**
 * Our own diagnostics go straight to fd 2 with one prefix. Writing must never throw into the
 * app (stderr may be closed or a broken pipe), and must not go through console, which the app
 * or an instrumentation may have patched. Every line is redacted (src/redact.ts): an upstream
 * message or an error text may quote a URL or a header.
 */
export function createLogger(level: LogLevel): Logger {
  const write = (kind: string, msg: string): void => {
    try {
      process.stderr.write(`${PREFIX}: ${kind}: ${redact(msg)}\n`);
    } catch {
      // nowhere left to report to
    }
  };
  const enabled = (l: LogLevel): boolean => RANK[level] >= RANK[l];
  return {
    level,
    enabled,
    error: (m) => enabled('error') && write('error', m),
    warn: (m) => enabled('warn') && write('warning', m),
    info: (m) => enabled('info') && write('info', m),
    debug: (m) => enabled('debug') && write('debug', m),
  };
}

/** Formats an unknown thrown value in one line. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}
