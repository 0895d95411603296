import { CATALOG } from './catalog/catalog.generated';
import type { InstrumentationDescriptor } from './catalog/types';
import { instrumentationOptions } from './config/instrumentation-options';
import { effectiveConfig, withDistro } from './config/effective';
import { type Config, describeConfig, type Env } from './config/parse';
import { claimSingleton, skipReason } from './guard';
import { installEsmHook, installGlobalTriggers, installResolveHook, primePluginCopies, primeRequireHook } from './hooks/install';
import { LazyInstrumentations } from './hooks/lazy-instrumentations';
import { installDiag } from './diag';
import { createLogger, errorText, type Logger, type LogLevel } from './log';
import { loadPlugins, type Plugins } from './plugins';
import { selectInstrumentations, unknownInstrumentationNames } from './selection';
import { finalLossReport, startLossReports } from './sdk/export-stats';
import { abandonAllExports } from './sdk/lazy-exporter';
import { LazySdk } from './sdk/providers';
import { installShutdown } from './shutdown';

export interface StartOptions {
  /** Which entry file called: tells the report which hook path the user took. */
  readonly entry?: 'import' | 'require' | 'api';
  /** Defaults to process.env; tests pass their own. */
  readonly env?: Env;
}

/** What start() gives back, whether or not it started anything. */
export interface Handle {
  readonly started: boolean;
  /** Why nothing was started, when it was not. */
  readonly skipped?: string;
  readonly config?: Config;
  readonly instrumentations?: LazyInstrumentations;
  shutdown(): Promise<void>;
  forceFlush(): Promise<void>;
}

/** After this long, whatever is still lazy in the SDK is built (see LazySdk.warmUp). */
const WARM_UP_MS = 1000;
/** At most one summary of lost telemetry per this interval (and one at exit). */
const LOSS_REPORT_INTERVAL_MS = 60_000;

const noop = (): Promise<void> => Promise.resolve();
const skipped = (reason: string, config?: Config): Handle => ({ started: false, skipped: reason, ...(config ? { config } : {}), shutdown: noop, forceFlush: noop });

const NO_PLUGINS: Plugins = { discovery: { root: undefined, plugins: [], warnings: [] }, distro: undefined, instrumentations: [], configurators: [], warnings: [] };

/** Plugin discovery never stops the start: a failure here means no plugins, said once. */
function findPlugins(pre: Config, log: Logger): Plugins {
  try {
    return loadPlugins(pre.values, new Set(CATALOG.map((d) => d.name)), process.argv[1], process.cwd());
  } catch (err) {
    log.warn(`plugin discovery failed (${errorText(err)}); continuing without plugins`);
    return NO_PLUGINS;
  }
}

/**
 * The only thing the register entry files call. Never throws: on any failure it logs one line
 * and the app runs uninstrumented. A second call (a second copy of the package, or --require
 * and --import together) returns the first call's handle.
 */
export function start(options: StartOptions = {}): Handle {
  try {
    return claimSingleton(() => startOnce(options)).value;
  } catch (err) {
    try {
      process.stderr.write(`otel-autoinstrument: error: not started: ${errorText(err)}\n`);
    } catch {
      // stderr is gone; run uninstrumented quietly
    }
    return skipped(errorText(err));
  }
}

function startOnce(options: StartOptions): Handle {
  const env = options.env ?? process.env;
  const eff = effectiveConfig(env);
  if (!eff.ok) {
    createLogger('warn').error(`configuration file: ${eff.error}; running without instrumentation`);
    return skipped(eff.error);
  }
  const pre = eff.config;
  const reason = skipReason({ sdkDisabled: pre.values.OTEL_SDK_DISABLED, processes: { include: pre.values.OTEL_NODE_INCLUDE_PROCESSES, exclude: pre.values.OTEL_NODE_EXCLUDE_PROCESSES } });
  if (reason !== undefined) {
    const log = createLogger(pre.values.OTEL_LOG_LEVEL as LogLevel);
    for (const w of pre.warnings) log.warn(w);
    if (reason.startsWith('Node ')) log.warn(reason);
    else log.debug(`not starting: ${reason}`);
    return skipped(reason, pre);
  }

  const plugins = findPlugins(pre, createLogger(pre.values.OTEL_LOG_LEVEL as LogLevel));
  // A distro's defaults sit between the table's defaults and the environment.
  const distro = plugins.distro;
  const config = withDistro(eff, env, {}, distro);
  const v = config.values;
  const log = createLogger(v.OTEL_LOG_LEVEL as LogLevel);
  for (const w of [...eff.fileWarnings, ...config.warnings, ...plugins.warnings]) log.warn(w);
  if (log.enabled('debug')) for (const line of describeConfig(config)) log.debug(`config: ${line}`);
  const known = [...CATALOG, ...plugins.instrumentations];
  for (const w of unknownInstrumentationNames(v, known)) log.warn(w);
  const selected = selectInstrumentations(v, known);
  const instrumentationConfig = instrumentationOptions(env, known);
  for (const w of instrumentationConfig.warnings) log.warn(w);

  // Instrumentations and their @opentelemetry/instrumentation are resolved where
  // auto-instrumentations-node can see them, which also holds under pnpm's strict layout.
  const from = require.resolve('@opentelemetry/auto-instrumentations-node');
  const ours = require.resolve('@opentelemetry/instrumentation', { paths: [from] });
  // Before the API globals exist, so the anchor's constructor cannot trigger the SDK build.
  primeRequireHook(require(ours) as typeof import('@opentelemetry/instrumentation'));
  primePluginCopies(selected, ours, log);

  const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  installDiag(api, log);
  startLossReports(log, LOSS_REPORT_INTERVAL_MS);
  const sdk = new LazySdk(config, log, { configurators: plugins.configurators, distro });
  sdk.registerGlobals(api);
  sdk.warmUp(WARM_UP_MS);

  const providers = { tracer: () => api.trace.getTracerProvider(), meter: () => api.metrics.getMeterProvider(), logger: () => api.logs.getLoggerProvider() };
  const lazy = new LazyInstrumentations(selected, log, from, providers, instrumentationConfig.byName);
  for (const w of lazy.loadedTooEarly(require.cache)) log.warn(w);
  installEsmHook(lazy.targetNames(), from, log);
  installResolveHook(lazy, log);
  installGlobalTriggers(lazy);
  for (const d of lazy.enabled) if (d.activation === 'lambda') lazy.activate(d, 'startup');
  // Runtime and host metrics describe a running process: they start with the warm-up, so a
  // process that is over within its first second never loads them.
  const later = lazy.enabled.filter((d) => d.activation === 'startup');
  if (later.length > 0) setTimeout(() => later.forEach((d) => lazy.activate(d, 'warm-up')), WARM_UP_MS).unref();

  const shutdown = (): Promise<void> => {
    lazy.close();
    return sdk.shutdown();
  };
  installShutdown(shutdown, log, () => finalLossReport(abandonAllExports));
  log.debug(`started (${options.entry ?? 'api'} entry), ${lazy.enabled.length} instrumentations waiting for their modules`);
  return { started: true, config, instrumentations: lazy, shutdown, forceFlush: () => sdk.forceFlush() };
}

export { selectInstrumentations, unknownInstrumentationNames } from './selection';
