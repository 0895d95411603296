import { TABLE, VAR_NAMES, type VarName } from '../config/table';

export interface Flag {
  readonly name: VarName;
  /** `--traces-exporter` */
  readonly long: string;
  /** `--traces_exporter`, the spelling Python's opentelemetry-instrument uses */
  readonly underscore: string;
}

/** OTEL_TRACES_EXPORTER -> traces-exporter; OTEL_NODE_EXCLUDE_PROCESSES -> node-exclude-processes. */
export function flagName(name: string): string {
  return name.replace(/^OTEL_/, '').toLowerCase().replace(/_/g, '-');
}

/** One flag per variable of the table, except those the platform sets (AWS_LAMBDA_*). */
export const FLAGS: readonly Flag[] = VAR_NAMES.filter((n) => TABLE[n].group !== 'platform').map((name) => {
  const f = flagName(name);
  return { name, long: `--${f}`, underscore: `--${f.replace(/-/g, '_')}` };
});
