/**
 * One thing the doctor found. `error` would lose telemetry (exit code 1); `warning` deserves a
 * look but loses nothing; `ok` and `info` are there so a clean report says what was checked.
 */
export type Severity = 'error' | 'warning' | 'ok' | 'info';

export interface Finding {
  readonly severity: Severity;
  /** Stable identifier, e.g. "endpoint-unreachable" (docs/doctor.md lists them). */
  readonly id: string;
  readonly message: string;
  /** What to do about it. */
  readonly fix?: string;
}

export const finding = (severity: Severity, id: string, message: string, fix?: string): Finding => ({ severity, id, message, ...(fix !== undefined ? { fix } : {}) });
