/** A module an instrumentation patches, with the versions it supports (semver ranges, any may match). */
export interface TargetModule {
  readonly name: string;
  readonly versions: readonly string[];
}

/**
 * When an instrumentation is loaded:
 * - `module`: the first time the app resolves one of `modules` (or touches one of `globals`);
 * - `startup`: at start, because it patches nothing the app requires (runtime or host metrics);
 * - `lambda`: at start, but only inside AWS Lambda.
 */
export type Activation = 'module' | 'startup' | 'lambda';

/** A scalar or list option of an instrumentation's config, settable from the environment. */
export interface InstrumentationOption {
  /** The config key, e.g. "enhancedDatabaseReporting". */
  readonly name: string;
  readonly type: 'boolean' | 'number' | 'string' | 'list';
}

/** The shape shared by the built-in catalog and plugins' "otel" fields. */
export interface InstrumentationDescriptor {
  /** Short name used by OTEL_NODE_ENABLED_INSTRUMENTATIONS, e.g. "pg". */
  readonly name: string;
  readonly package: string;
  /** The named export holding the instrumentation class. */
  readonly export: string;
  readonly modules: readonly TargetModule[];
  /** Globals whose first access loads the instrumentation (fetch has no module to resolve). */
  readonly globals: readonly string[];
  readonly activation: Activation;
  readonly enabledByDefault: boolean;
  /** Records metrics and nothing else: pointless when no metrics exporter is set. */
  readonly metricsOnly: boolean;
  /** Options settable through OTEL_NODE_INSTRUMENTATION_<NAME>_<OPTION> (docs/configuration.md). */
  readonly options?: readonly InstrumentationOption[];
  /** Plugins only: the absolute path of the module to load instead of `package`. */
  readonly entry?: string;
  /** Plugins only: the package that declared it, as name@version, for messages. */
  readonly origin?: string;
  /**
   * A bundled extra, a dependency of otel-autoinstrument itself rather than of
   * auto-instrumentations-node: resolved from our package (pnpm links each package's own
   * dependencies only).
   */
  readonly ownDependency?: boolean;
  /**
   * A diagnostics channel on which the library announces each instance the instrumentation
   * attaches to (@fastify/otel patches nothing; it joins every Fastify instance through
   * 'fastify.initialization'). Each message counts as a patch of the first target module in the
   * startup report and the doctor.
   */
  readonly channel?: string;
  /** Constructor config under the user's OTEL_NODE_INSTRUMENTATION_* options (src/catalog/extras.ts). */
  readonly config?: Readonly<Record<string, unknown>>;
  /**
   * Set by src/selection.ts, never by a plugin: a resolve of a target module from inside
   * `package` does not load this instrumentation while `instrumentation` is loaded, because that
   * one already records the same work (router under Express 5). `restore` names the setting that
   * turns this off, for the startup report.
   */
  readonly coveredBy?: { readonly package: string; readonly instrumentation: string; readonly restore: string };
}
