import { CATALOG } from './catalog/catalog.generated';
import type { InstrumentationDescriptor } from './catalog/types';
import { instrumentationOptions } from './config/instrumentation-options';
import { effectiveConfig, withDistro } from './config/effective';
import { type Config, describeConfig, type Env, type TopLayer } from './config/parse';
import { apiCopy, apiCopyWarning } from './api/copy';
import { claimSingleton, skipReason, tracedWorker } from './guard';
import { esmHookCanWait, installEsmHook, installGlobalTriggers, installResolveHook, primePluginCopies, primeRequireHook } from './hooks/install';
import { LazyInstrumentations } from './hooks/lazy-instrumentations';
import { packageOfPath, RequireFilter } from './hooks/require-filter';
import { Vendor, vendoredVersions } from './hooks/vendor';
import { installDiag } from './diag';
import { enableCompileCache } from './compile-cache';
import { privateCacheDir } from './script-cache';
import { dirname, join } from 'node:path';
import { useSecrets } from './config/secrets';
import { isMainThread } from './thread';
import { createLogger, errorText, type Logger, type LogLevel } from './log';
import { loadPlugins, type Plugins } from './plugins';
import { selectInstrumentations, unknownInstrumentationNames } from './selection';
import type { Values } from './config/table';
import { finalLossReport, lossesHeldForExit, startLossReports } from './sdk/export-stats';
import { abandonAllExports } from './sdk/lazy-exporter';
import { exportsEnding } from './sdk/otlp-transport';
import { LazySdk } from './sdk/providers';
import { runtimePlan } from './runtime/plan';
import { installShutdown } from './shutdown';
import type { StartupReport } from './report/startup';

/** The report's code loads only when a report is asked for (handle.report(), the doctor, OTEL_LOG_LEVEL=info). */
const reporting = (): typeof import('./report/startup') => require('./report/startup') as typeof import('./report/startup');

export type Entry = 'import' | 'require' | 'api';
type Api = typeof import('@opentelemetry/api');

/** What the entry points ask of start(): the register files only name themselves. */
export interface StartRequest {
  /** Which entry called: tells the report which hook path the user took. */
  readonly entry?: Entry;
  /** Defaults to process.env; tests pass their own. */
  readonly env?: Env;
  /** start()'s options, the layer above the environment. */
  readonly top?: TopLayer;
  /** Instrumentation configs from start()'s options, merged over the environment's. */
  readonly instrumentations?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Warnings found before the start (unknown option keys), logged with the others. */
  readonly warnings?: readonly string[];
  /** What became of the bundle's own code cache (src/bundle-cache.ts), for the debug log. */
  readonly bundleCache?: string;
}

/** What start() gives back, whether or not it started anything. */
export interface Handle {
  readonly started: boolean;
  /** Which entry started it: the --import or --require register hook, or start() ('api'). */
  readonly entry: Entry;
  /** Why nothing was started, when it was not. */
  readonly skipped?: string;
  readonly config?: Config;
  readonly instrumentations?: LazyInstrumentations;
  /** What happened so far: hooks, config, instrumentations applied or skipped, export counts (docs/doctor.md). */
  report?(): StartupReport;
  shutdown(): Promise<void>;
  forceFlush(): Promise<void>;
}

/** At most one summary of lost telemetry per this interval (and one at exit). */
const LOSS_REPORT_INTERVAL_MS = 60_000;

const noop = (): Promise<void> => Promise.resolve();
const skipped = (entry: Entry, reason: string, config?: Config): Handle => ({ started: false, entry, skipped: reason, ...(config ? { config } : {}), shutdown: noop, forceFlush: noop });

/** Signals with some exporter other than "none". */
function exportingSignals(v: Values): Array<'traces' | 'metrics' | 'logs'> {
  const by = { traces: v.OTEL_TRACES_EXPORTER, metrics: v.OTEL_METRICS_EXPORTER, logs: v.OTEL_LOGS_EXPORTER } as const;
  return (['traces', 'metrics', 'logs'] as const).filter((s) => by[s].some((e) => e !== 'none'));
}

/** Any OTEL_NODE_ASYNC_* variable set: only then is src/async loaded. */
function asyncWanted(v: Values): boolean {
  return v.OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE.length > 0 || v.OTEL_NODE_ASYNC_WORKER_TRACE_ENABLED || v.OTEL_NODE_ASYNC_TIMERS_TRACE_ENABLED;
}

/** Metrics are exported and OTEL_NODE_MULTIPROCESS_METRICS is not off: only then is src/multiprocess loaded. */
function multiprocessWanted(v: Values): boolean {
  return v.OTEL_NODE_MULTIPROCESS_METRICS !== 'off' && exportingSignals(v).includes('metrics');
}

/** The main thread's collector of worker threads' and child processes' metrics; never stops the start. */
function startMultiprocess(v: Values, log: Logger): import('./multiprocess').Multiprocess | undefined {
  try {
    return new (require('./multiprocess') as typeof import('./multiprocess')).Multiprocess(v, log);
  } catch (err) {
    log.warn(`multiprocess metrics could not start (${errorText(err)}); each process and thread exports on its own`);
    return undefined;
  }
}

/**
 * The collector's hub (worker_threads, channels, the folding code: about 3.5 ms of a start) is
 * made before the app's first worker thread or child process can exist, not at preload: at the
 * first load of worker_threads, child_process or cluster (through the module hook, or
 * process.getBuiltinModule), or at the warm-up. Returns what the resolve hook is to call.
 */
function startMultiprocessWhenNeeded(mp: import('./multiprocess').Multiprocess, warmUpMs: number): ((specifier: string, parentURL: string | undefined) => void) | undefined {
  const needed = require('./multiprocess/needed') as typeof import('./multiprocess/needed');
  if (needed.neededNow()) {
    mp.start();
    return undefined;
  }
  let done = false;
  let unwrap = (): void => undefined;
  const now = (): void => {
    if (done) return;
    done = true;
    unwrap();
    mp.start();
  };
  unwrap = needed.onGetBuiltinModule(now);
  setTimeout(now, warmUpMs).unref();
  // Loads by our own code (the exit-time send's child_process) and our dependencies (import-in-the-middle
  // takes a MessageChannel from worker_threads) start no thread or process: they need no hub.
  const ours = (require('node:url') as typeof import('node:url')).pathToFileURL(__filename).href;
  return (specifier, parentURL) => {
    if (!done && needed.NEEDED_BY.has(specifier) && parentURL !== ours && !needed.OUR_DEPENDENCY.test(parentURL ?? '')) now();
  };
}

/** In a worker thread whose main thread collects: the Meter API writes into this thread's shard. */
function startThreadMetricsSafely(v: Values): void {
  const log = createLogger(v.OTEL_LOG_LEVEL as LogLevel);
  try {
    const threads = require('./multiprocess/threads') as typeof import('./multiprocess/threads');
    const data = threads.threadsStartData();
    if (data !== undefined) threads.startThreadMetrics(require('@opentelemetry/api') as typeof import('@opentelemetry/api'), data, log);
  } catch (err) {
    log.warn(`multiprocess metrics: this worker thread's metrics are not collected (${errorText(err)})`);
  }
}

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
export function start(options: StartRequest = {}): Handle {
  return claimStart(options).handle;
}

/** start(), also telling whether this call was the one that started (the API warns otherwise). */
export function claimStart(options: StartRequest): { first: boolean; handle: Handle } {
  try {
    const r = claimSingleton(() => startOnce(options));
    return { first: r.first, handle: r.value };
  } catch (err) {
    try {
      process.stderr.write(`otel-autoinstrument: error: not started: ${errorText(err)}\n`);
    } catch {
      // stderr is gone; run uninstrumented quietly
    }
    return { first: true, handle: skipped(options.entry ?? 'api', errorText(err)) };
  }
}

function startOnce(options: StartRequest): Handle {
  const env = options.env ?? process.env;
  const entry = options.entry ?? 'api';
  const top = options.top ?? {};
  const eff = effectiveConfig(env, top);
  if (!eff.ok) {
    createLogger('warn').error(`configuration file: ${eff.error}; running without instrumentation`);
    return skipped(entry, eff.error);
  }
  const pre = eff.config;
  useSecrets(pre.values);
  // Before any skip: a worker thread starts no SDK, but its metrics still reach the main thread's.
  if (!isMainThread() && multiprocessWanted(pre.values)) startThreadMetricsSafely(pre.values);
  const worker = tracedWorker();
  const reason = skipReason({ sdkDisabled: pre.values.OTEL_SDK_DISABLED, processes: { include: pre.values.OTEL_NODE_INCLUDE_PROCESSES, exclude: pre.values.OTEL_NODE_EXCLUDE_PROCESSES }, tracedWorker: worker });
  if (reason !== undefined) {
    const log = createLogger(pre.values.OTEL_LOG_LEVEL as LogLevel);
    for (const w of [...(options.warnings ?? []), ...pre.warnings]) log.warn(w);
    if (reason.startsWith('Node ')) log.warn(reason);
    else log.debug(`not starting: ${reason}`);
    return skipped(entry, reason, pre);
  }

  const plugins = findPlugins(pre, createLogger(pre.values.OTEL_LOG_LEVEL as LogLevel));
  // A distro's defaults sit between the table's defaults and the environment.
  const distro = plugins.distro;
  const config = withDistro(eff, env, top, distro);
  const v = config.values;
  useSecrets(v);
  const log = createLogger(v.OTEL_LOG_LEVEL as LogLevel);
  for (const w of [...(options.warnings ?? []), ...eff.fileWarnings, ...config.warnings, ...plugins.warnings]) log.warn(w);
  if (log.enabled('debug')) for (const line of describeConfig(config)) log.debug(`config: ${line}`);
  // Only once we know this process is instrumented (a package manager's is not, and its
  // modules are not ours to cache): what loads from here on, upstream's packages and the app's.
  log.debug(`compile cache: ${enableCompileCache(v.OTEL_NODE_COMPILE_CACHE)}`);
  if (options.bundleCache !== undefined) log.debug(`bundle code cache: ${options.bundleCache}`);
  const known = [...CATALOG, ...plugins.instrumentations];
  for (const w of unknownInstrumentationNames(v, known)) log.warn(w);
  const runtime = runtimePlan(config);
  for (const w of runtime.warnings) log.warn(w);
  const selected = selectInstrumentations(v, known, runtime.upstream);
  const instrumentationConfig = instrumentationOptions(env, known);
  for (const w of instrumentationConfig.warnings) log.warn(w);
  const byName = mergeInstrumentationConfigs(instrumentationConfig.byName, options.instrumentations, known, log);

  // Instrumentations and their @opentelemetry/instrumentation are resolved where
  // auto-instrumentations-node can see them, which also holds under pnpm's strict layout.
  const from = require.resolve('@opentelemetry/auto-instrumentations-node');
  // Upstream's require hook and @opentelemetry/instrumentation wait for the first require that
  // can reach a watched module, or the first instrumentation to load (src/hooks/require-filter.ts).
  // Upstream's packages for ours from one prebuilt file where it is the same copy (src/hooks/vendor.ts).
  const vendor = upstreamBundle(v, known, log, () => useApi());
  const requireFilter = new RequireFilter(
    () => {
      const ours = require.resolve('@opentelemetry/instrumentation', { paths: [from] });
      // The copy the instrumentation packages will get: the bundle's where they get that.
      const served = vendor?.serve(from, '@opentelemetry/instrumentation');
      const pkg = (served?.exports ?? require(ours)) as typeof import('@opentelemetry/instrumentation');
      const sharesOurs = served !== undefined && vendor !== undefined ? (entry: string) => vendor.serve(entry, '@opentelemetry/instrumentation')?.exports === served.exports : undefined;
      return [primeRequireHook(pkg), ...primePluginCopies(selected, ours, log, sharesOurs)];
    },
    selected.flatMap((d) => d.modules.map((m) => m.name)),
    (line, failed) => (failed ? log.warn(line) : log.debug(line)),
  );
  requireFilter.vendor = vendor;

  // @opentelemetry/api and the globals behind it wait for the first resolve of the API by anyone
  // (an instrumentation loading, the app, a library's vendored copy: see installResolveHook):
  // nothing can reach the globals before, and a process that never does loads neither.
  let api: Api | undefined;
  let sdk: LazySdk | undefined;
  const useApi = (): Api => {
    if (api !== undefined) return api;
    api = require('@opentelemetry/api') as Api;
    installDiag(api, log);
    sdk?.registerGlobals(api);
    return api;
  };
  // A worker its parent traces forwards its spans to the parent (src/async); it builds no SDK.
  const workerData = worker ? (require('./async/worker-side') as typeof import('./async/worker-side')).workerStartData() : undefined;
  const forwarding = workerData ? (require('./async/worker-side') as typeof import('./async/worker-side')).startWorkerSide(useApi(), v, workerData, log) : undefined;
  if (!forwarding) startLossReports(log, LOSS_REPORT_INTERVAL_MS);
  const runtimeMetrics = !forwarding && runtime.groups.size + runtime.extras.size > 0 ? new (require('./runtime') as typeof import('./runtime')).RuntimeMetrics(runtime, log) : undefined;
  const self = !forwarding && v.OTEL_NODE_SELF_METRICS_ENABLED ? new (require('./sdk/self-metrics') as typeof import('./sdk/self-metrics')).SelfMetrics(exportingSignals(v)) : undefined;
  const multiprocess = !forwarding && isMainThread() && multiprocessWanted(v) ? startMultiprocess(v, log) : undefined;
  const warmUpMs = v.OTEL_NODE_WARMUP_DELAY ?? 1000;
  const onSpecifier = multiprocess ? startMultiprocessWhenNeeded(multiprocess, warmUpMs) : undefined;
  sdk = forwarding ? undefined : new LazySdk(config, log, { configurators: plugins.configurators, distro }, runtimeMetrics, self, multiprocess);
  if (sdk !== undefined) {
    sdk.warmUp(warmUpMs);
    // The warm-up builds what is still lazy: the globals too, by then.
    setTimeout(useApi, warmUpMs).unref();
  }

  const providers = { tracer: () => useApi().trace.getTracerProvider(), meter: () => useApi().metrics.getMeterProvider(), logger: () => useApi().logs.getLoggerProvider() };
  const lazy = new LazyInstrumentations(selected, log, from, providers, byName, v.OTEL_NODE_HTTP_SERVER_INSTRUMENTATION, v.OTEL_NODE_EXPRESS_INSTRUMENTATION);
  lazy.beforeLoad = () => requireFilter.ensurePrimed();
  for (const w of lazy.loadedTooEarly(require.cache)) log.warn(w);
  if (self) self.active = () => [...lazy.states.values()].filter((st) => st.status === 'loaded').length;
  const report = (): StartupReport => reporting().startupReport(entry, config, lazy, [...lazy.early]);
  announce(config, lazy, report, log);
  const asyncHooks = forwarding || asyncWanted(v) ? (require('./async') as typeof import('./async')).installAsync({ api: useApi(), values: v, log, resolveFrom: from, sdk, worker: forwarding }) : undefined;
  // Whether the app's API copy can share our globals, looked up at the first resolve of an API
  // copy (a process that resolves none pays nothing: ours come from the upstream bundle). The
  // parent thread has already said it. The lookup's own resolves come after the hook's first.
  let copyChecked = forwarding !== undefined;
  const onApiResolve = (): void => {
    useApi();
    if (copyChecked) return;
    copyChecked = true;
    const copy = apiCopyWarning(process.argv[1] ? dirname(process.argv[1]) : process.cwd(), apiCopy(__dirname));
    if (copy !== undefined) log.warn(copy);
  };
  const asyncNames = new Set(asyncHooks?.esmInclude ?? []);
  const esm = {
    include: [...lazy.targetNames(), ...asyncNames],
    resolveFrom: from,
    requireHooked: v.OTEL_NODE_IMPORTED_COMMONJS === 'wrap' ? [] : lazy.targetNames().filter((n) => !asyncNames.has(n)),
    ...(asyncHooks?.esmPredicate ? { alsoInclude: asyncHooks.esmPredicate } : {}),
  };
  // Where Node has synchronous hooks, import-in-the-middle waits for the first ES import it wraps.
  if (esmHookCanWait()) installResolveHook(lazy, log, onApiResolve, esm, onSpecifier);
  else {
    installEsmHook(esm, log);
    installResolveHook(lazy, log, onApiResolve, undefined, onSpecifier);
  }
  installGlobalTriggers(lazy);
  if (forwarding) {
    // Each span is sent as it ends; no exporter to flush, no signal to handle in a worker.
    log.debug('started in a traced worker thread, forwarding to the parent thread');
    return { started: true, entry, config, instrumentations: lazy, report, shutdown: noop, forceFlush: noop };
  }
  for (const d of lazy.enabled) if (d.activation === 'lambda') lazy.activate(d, 'startup');
  // Runtime and host metrics describe a running process: they start with the warm-up, so a
  // process that is over within its first second never loads them.
  const later = lazy.enabled.filter((d) => d.activation === 'startup');
  if (later.length > 0) setTimeout(() => later.forEach((d) => lazy.activate(d, 'warm-up')), warmUpMs).unref();

  const shutdown = (): Promise<void> => {
    exportsEnding();
    lossesHeldForExit();
    lazy.close();
    return sdk?.shutdown() ?? Promise.resolve();
  };
  installShutdown(shutdown, log, (flushed) => {
    // process.exit() or an uncaught exception: no asynchronous flush ran, send what is pending now.
    finalLossReport(() => {
      if (!flushed) sdk?.sendAtExit();
      abandonAllExports();
    });
  });
  // After installShutdown: its exit listener counts the last losses before ours writes them.
  // Not in a traced worker (returned above): it shares the process's pid, so the file, with the main thread.
  const doctorFile = v.OTEL_NODE_DOCTOR_REPORT;
  if (doctorFile !== undefined && doctorFile !== '') (require('./report/doctor-child') as typeof import('./report/doctor-child')).writeDoctorReports(doctorFile, report, log);
  log.debug(`started (${entry} entry), ${lazy.enabled.length} instrumentations waiting for their modules`);
  return { started: true, entry, config, instrumentations: lazy, report, shutdown, forceFlush: () => sdk?.forceFlush() ?? Promise.resolve() };
}

/**
 * The startup report: printed only when OTEL_LOG_LEVEL is set to info or lower explicitly (its
 * default is info too, but an app's stderr stays quiet unless asked); then one line per module
 * patched as it loads. The doctor's file report (written by startOnce) does not depend on the level.
 */
function announce(config: Config, lazy: LazyInstrumentations, report: () => StartupReport, log: Logger): void {
  if (config.sources.OTEL_LOG_LEVEL === 'default' || !log.enabled('info')) return;
  const { appDir, describeOne, startupLines } = reporting();
  for (const line of startupLines(report())) log.info(line);
  lazy.onPatch = (d, p, version) => {
    const detail = lazy.details.get(d.name);
    log.info(`applied ${d.package}@${version} to ${p.module}${p.version !== undefined ? `@${p.version}` : ''}${detail !== undefined ? `; ${detail}` : ''}`);
  };
  // A version out of range is known from its package.json as soon as the instrumentation loads.
  lazy.onLoad = (d) => {
    const r = describeOne(d, lazy, appDir());
    if (r.status === 'skipped') log.info(`skipped ${d.package}@${r.version ?? '?'}: ${r.reason ?? ''}`);
  };
}

export { selectInstrumentations, unknownInstrumentationNames } from './selection';

/** start()'s instrumentation configs over the environment's; an unknown name is one warning. */
function mergeInstrumentationConfigs(
  fromEnv: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
  fromOptions: StartRequest['instrumentations'],
  known: readonly InstrumentationDescriptor[],
  log: Logger,
): ReadonlyMap<string, Readonly<Record<string, unknown>>> {
  if (fromOptions === undefined) return fromEnv;
  const out = new Map(fromEnv);
  for (const [name, config] of Object.entries(fromOptions)) {
    if (!known.some((d) => d.name === name)) {
      log.warn(`start() option instrumentations.${name}: no instrumentation is named "${name}"; ignored`);
      continue;
    }
    if (typeof config !== 'object' || config === null) {
      log.warn(`start() option instrumentations.${name} is not an object; ignored`);
      continue;
    }
    out.set(name, { ...out.get(name), ...config });
  }
  return out;
}

/** Package names the register bundle was built with as our dependencies (scripts/bundle.mjs). */
declare const VENDOR_PARENTS: readonly string[] | undefined;

/**
 * The upstream bundle, when this is the register bundle (dist/register.js, beside dist/vendor.js)
 * and OTEL_NODE_UPSTREAM_BUNDLE is not false. Parents it serves: the instrumentation packages of
 * the catalog (not plugins: they come from elsewhere) and our own dependencies, never the
 * vendored packages themselves (their copies outside the bundle are someone else's).
 */
function upstreamBundle(v: Values, known: readonly InstrumentationDescriptor[], log: Logger, onApi: () => void): Vendor | undefined {
  const versions = vendoredVersions();
  if (v.OTEL_NODE_UPSTREAM_BUNDLE === false || Object.keys(versions).length === 0) return undefined;
  // A plugin's package too (its instrumentation shares ours, as Node would give it the same
  // directory's instance), where it is installed under node_modules/.
  const plugins = known.flatMap((d) => (d.entry !== undefined ? [packageOfPath(d.entry)] : [])).filter((p): p is string => p !== undefined);
  const ours = new Set([...(typeof VENDOR_PARENTS === 'object' ? VENDOR_PARENTS : []), ...known.filter((d) => d.entry === undefined).map((d) => d.package), ...plugins]);
  for (const name of Object.keys(versions)) ours.delete(name);
  log.debug(`upstream bundle: ${Object.entries(versions).map(([n, ver]) => `${n}@${ver}`).join(', ')} served from dist/vendor.js where the same copy`);
  // Its code cache only where the bundle's own is kept: the default directory, the user's setting unset.
  return new Vendor(versions, __dirname, ours, join(__dirname, 'vendor.js'), onApi, v.OTEL_NODE_COMPILE_CACHE === undefined ? privateCacheDir() : undefined, (line) => log.debug(line));
}
