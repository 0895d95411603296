/** A parse either yields a value or says why the raw string was refused. */
export type ParseResult<T> = { ok: true; value: T; note?: string } | { ok: false; reason: string };

export type VarGroup = 'general' | 'resource' | 'exporters' | 'otlp' | 'processors' | 'limits' | 'sampling' | 'propagation' | 'instrumentations' | 'runtime' | 'multiprocess' | 'platform';

/** Section titles, in order, for docs/configuration.md and otel-instrument --help. */
export const GROUP_TITLES: Readonly<Record<VarGroup, string>> = {
  general: 'General',
  resource: 'Resource',
  exporters: 'Exporters',
  otlp: 'OTLP exporter',
  processors: 'Batching and intervals',
  limits: 'Limits',
  sampling: 'Sampling',
  propagation: 'Propagation',
  instrumentations: 'Instrumentations',
  runtime: 'Runtime metrics',
  multiprocess: 'Multiprocess metrics',
  platform: 'Platform (set by the environment, not by you)',
};

/** One environment variable we read: the single source for parser, docs, flags and the redacted dump. */
/** What kind of value a variable takes: the parser, and the bad-value tests generated from the table. */
export type VarKind = 'boolean' | 'string' | 'enum' | 'list' | 'number' | 'url' | 'key-value' | 'file';

export interface VarSpec<T> {
  readonly group: VarGroup;
  readonly kind: VarKind;
  /** Numbers: the accepted range, and whether only whole numbers are. */
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** Shown in docs and --help, e.g. "boolean", "list of otlp|console|none". */
  readonly typeLabel: string;
  readonly default: T;
  /** The default as a user would write it; empty when there is none. */
  readonly defaultLabel: string;
  /** With no default: what applies when the variable is unset (said when a bad value is ignored). */
  readonly unsetLabel?: string;
  readonly allowed?: readonly string[];
  /** Secret values are never printed: not in warnings, not in dumps. */
  readonly sensitive: boolean;
  readonly description: string;
  /** Our own additions are named OTEL_NODE_*; standard ones cite the spec. */
  readonly standard: boolean;
  parse(raw: string): ParseResult<T>;
  /** How a parsed value is shown back (redaction applies on top). */
  show(value: T): string;
}
