import { ignoringOwnRequests } from '../sdk/own-servers';
import type { LoggerProvider, MeterProvider, TracerProvider } from '@opentelemetry/api';
import { createRequire } from 'node:module';
import type { InstrumentationDescriptor } from '../catalog/types';
import type { HttpServerMode } from './http-server';
import type { ExpressMode } from './express';
import { errorText, type Logger } from '../log';
import { coveredReason, fromModuleHook } from './covered';
import { candidateNames } from './module-names';

/** The part of an upstream Instrumentation we use; anything else is its own business. */
export interface LoadedInstrumentation {
  readonly instrumentationName: string;
  readonly instrumentationVersion: string;
  enable(): void;
  disable(): void;
  isEnabled(): boolean;
  setTracerProvider(p: TracerProvider): void;
  setMeterProvider(p: MeterProvider): void;
  setLoggerProvider?(p: LoggerProvider): void;
}

/** The API's global providers, handed to each instrumentation as upstream's registerInstrumentations does. */
export interface Providers {
  tracer(): TracerProvider;
  meter(): MeterProvider;
  logger(): LoggerProvider;
}

interface PatchTarget {
  name?: unknown;
  files?: unknown;
  patch?: (exports: unknown, version?: string) => unknown;
  unpatch?: (exports: unknown, version?: string) => unknown;
}

/** A module namespace's default export when it is a function (a CommonJS module.exports function). */
function namespaceFunction(exports: unknown): unknown {
  if (Object.prototype.toString.call(exports) !== '[object Module]') return undefined;
  const d = (exports as { default?: unknown }).default;
  return typeof d === 'function' ? d : undefined;
}

export type LoadState = { status: 'loaded'; instance: LoadedInstrumentation; trigger: string } | { status: 'failed'; error: string; trigger: string };

/** A module an instrumentation actually patched (its patch() ran without throwing). */
export interface Patched {
  readonly module: string;
  readonly version: string | undefined;
}

/**
 * Loads each enabled instrumentation the first time the app resolves one of its target modules.
 * Its enable() then registers with the shared require-in-the-middle singleton and with
 * import-in-the-middle before the target's code is evaluated, so the module and its internal
 * files are patched on this very load.
 */
export class LazyInstrumentations {
  /** Target module name -> instrumentations still waiting for it. */
  private readonly pending = new Map<string, InstrumentationDescriptor[]>();
  readonly states = new Map<string, LoadState>();
  /** Instrumentation name -> how it was built, when that is worth saying (http: who traces the server side). */
  readonly details = new Map<string, string>();
  /** Instrumentation name -> the modules its patch() ran on, for the startup report and the doctor. */
  readonly patched = new Map<string, Patched[]>();
  /** Told of each module patched, as it happens (the startup report's "as modules load" lines). */
  onPatch: ((d: InstrumentationDescriptor, p: Patched, instrumentationVersion: string) => void) | undefined;
  /** Told of each instrumentation loaded, before its module is (the report's "skipped" lines). */
  onLoad: ((d: InstrumentationDescriptor) => void) | undefined;
  /** Run before each instrumentation loads (start() makes upstream's require hook there, src/hooks/require-filter.ts). */
  beforeLoad: (() => void) | undefined;
  private readonly req: NodeRequire;

  constructor(
    readonly enabled: readonly InstrumentationDescriptor[],
    private readonly log: Logger,
    /** Where instrumentation packages are resolved from (this package's own node_modules). */
    resolveFrom: string,
    private readonly providers: Providers,
    /** Config for each instrumentation's constructor, from OTEL_NODE_INSTRUMENTATION_* variables. */
    private readonly options: ReadonlyMap<string, Readonly<Record<string, unknown>>> = new Map(),
    /** Who traces incoming HTTP requests (OTEL_NODE_HTTP_SERVER_INSTRUMENTATION, src/hooks/http-server.ts). */
    private readonly httpServer: HttpServerMode = 'lean',
    /** Who patches Express's layers (OTEL_NODE_EXPRESS_INSTRUMENTATION, src/hooks/express.ts). */
    private readonly express: ExpressMode = 'lean',
  ) {
    this.req = createRequire(resolveFrom);
    for (const d of enabled) {
      if (d.activation !== 'module') continue;
      for (const m of d.modules) {
        const list = this.pending.get(m.name) ?? [];
        list.push(d);
        this.pending.set(m.name, list);
      }
    }
  }

  /**
   * Target packages already in require.cache when we start (a --require placed before ours, or
   * a bundler's preamble). A later require() of them is still patched, but whatever required
   * them earlier (express's own reference to router, say) keeps the original: say so, once each.
   */
  loadedTooEarly(cache: Readonly<Record<string, unknown>>): string[] {
    const seen = this.early;
    for (const file of Object.keys(cache)) {
      const m = /[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(file);
      const name = m?.[1]?.replace(/\\/g, '/');
      if (name !== undefined && this.pending.has(name)) seen.add(name);
    }
    return [...seen].map((name) => {
      const who = (this.pending.get(name) ?? []).map((d) => d.name).join(', ');
      return `${name} was loaded before otel-autoinstrument started: code that required it then keeps the unpatched module, so ${who} spans may be missing; load the hook first (node --import otel-autoinstrument/register, or as the first --require)`;
    });
  }

  /** Every module name some enabled instrumentation targets: the include list for the ESM hook. */
  targetNames(): string[] {
    return [...this.pending.keys()];
  }

  private closed = false;
  /** What loadedTooEarly() found, by package name. */
  readonly early = new Set<string>();

  /**
   * At shutdown: modules resolved from now on (the exporter's own, loaded for the last flush)
   * no longer load instrumentations, whose providers are already shutting down.
   */
  close(): void {
    this.closed = true;
  }

  /** Instrumentation name -> why a resolve of its target did not load it (coveredReason()), for the startup report. */
  readonly covered = new Map<string, string>();

  /**
   * Called for every resolve request; the common case is one or two Map misses. `parentURL` is
   * the resolving module's, when the hook knows it.
   */
  onResolve(specifier: string, parentURL?: string): void {
    if (this.pending.size === 0 || this.closed) return;
    for (const name of candidateNames(specifier)) {
      const list = this.pending.get(name);
      if (list === undefined) continue;
      for (const d of list) {
        if (d.coveredBy !== undefined && fromModuleHook(parentURL)) continue;
        const why = coveredReason(d, name, parentURL, (n) => this.states.get(n)?.status === 'loaded');
        if (why === undefined) this.activate(d, name);
        else if (!this.covered.has(d.name)) {
          // It stays pending: a resolve of the same name from elsewhere (the app's own router) loads it.
          this.covered.set(d.name, why);
          this.log.debug(`instrumentation ${d.name} not loaded: ${why}`);
        }
      }
    }
  }

  /**
   * A patch runs inside the app's own require() or import: one that throws must not surface
   * there. Upstream calls `module.patch` of the definitions InstrumentationBase keeps in its
   * `_modules` field (getModuleDefinitions() would make new ones), so those are the ones wrapped.
   * Test: the bad-patch plugin e2e test, whose target must still load and work.
   */
  private isolatePatches(d: InstrumentationDescriptor, instance: LoadedInstrumentation): void {
    const defs = (instance as unknown as { _modules?: unknown })._modules;
    if (!Array.isArray(defs)) {
      this.log.debug(`instrumentation ${d.name}: no module definitions to guard`);
      return;
    }
    let reported = false;
    const guard = (target: PatchTarget, module: string): void => {
      for (const key of ['patch', 'unpatch'] as const) {
        const original = target[key];
        if (typeof original !== 'function') continue;
        target[key] = (exports: unknown, version?: string): unknown => {
          try {
            // A CommonJS package imported from ESM is patched through import-in-the-middle alone,
            // which hands the patch the module namespace. A patch that knows namespaces (pino's)
            // replaces its default; one that does not (connect 0.67.0's _patchConstructor) returns
            // a wrapper that calls the namespace, and the app's first connect() throws "original.apply
            // is not a function". That one gets the function export instead; import-in-the-middle
            // puts what it returns in `default`. Test: the Connect and pino ESM rows of
            // test/e2e/conformance.test.mjs.
            const fn = key === 'patch' ? namespaceFunction(exports) : undefined;
            let out = original.call(target, exports, version);
            if (fn !== undefined && typeof out === 'function' && out !== fn && namespaceFunction(exports) === fn) out = original.call(target, fn, version);
            if (key === 'patch') this.notePatched(d, instance, module, version);
            return out;
          } catch (err) {
            if (!reported) this.log.warn(`instrumentation ${d.name} (${d.origin ?? d.package}) threw in ${key} of ${module}${version ? `@${version}` : ''}: ${errorText(err)}; ${module} is left as it was`);
            reported = true;
            return exports;
          }
        };
      }
    };
    for (const def of defs as PatchTarget[]) {
      guard(def, String(def.name));
      // A file patch counts for its package: the report names modules, not their internal files.
      for (const f of Array.isArray(def.files) ? (def.files as PatchTarget[]) : []) guard(f, String(def.name));
    }
  }

  private notePatched(d: InstrumentationDescriptor, instance: LoadedInstrumentation, module: string, version: string | undefined): void {
    const list = this.patched.get(d.name) ?? [];
    if (list.some((p) => p.module === module && p.version === version)) return;
    const p: Patched = { module, version };
    list.push(p);
    this.patched.set(d.name, list);
    try {
      this.onPatch?.(d, p, instance.instrumentationVersion);
    } catch (err) {
      this.log.debug(`startup report: ${errorText(err)}`);
    }
  }

  /** Records each instance the library announces on `channel` (subscribed after the instrumentation, so it runs after it). */
  private watchChannel(d: InstrumentationDescriptor, instance: LoadedInstrumentation, channel: string): void {
    const target = d.modules[0]?.name;
    if (target === undefined) return;
    const dc = require('node:diagnostics_channel') as typeof import('node:diagnostics_channel');
    dc.subscribe(channel, (message) => {
      // fastify.initialization's message holds the instance, whose version says what was joined.
      const v = (message as { fastify?: { version?: unknown } } | undefined)?.fastify?.version;
      this.notePatched(d, instance, target, typeof v === 'string' ? v : undefined);
    });
  }

  /** Loads one instrumentation (once); a failure is one warning naming it, never an exception. */
  activate(d: InstrumentationDescriptor, trigger: string): void {
    if (this.states.has(d.name) || this.closed) return;
    for (const m of d.modules) {
      const list = this.pending.get(m.name)?.filter((x) => x !== d);
      if (list === undefined) continue;
      if (list.length === 0) this.pending.delete(m.name);
      else this.pending.set(m.name, list);
    }
    try {
      this.beforeLoad?.();
      const mod = (d.entry !== undefined ? require(d.entry) : d.ownDependency === true ? require(d.package) : this.req(d.package)) as Record<string, unknown>;
      const Ctor = mod[d.export];
      if (typeof Ctor !== 'function') throw new Error(`it has no export "${d.export}"`);
      // Upstream's constructor enables (and hooks) when config.enabled is not false; some
      // instrumentations (undici) also read config.enabled at call time, so it must stay true.
      const config: Record<string, unknown> = { ...d.config, ...this.options.get(d.name) };
      if (d.name === 'http') config.ignoreIncomingRequestHook = ignoringOwnRequests(config.ignoreIncomingRequestHook);
      let instance: LoadedInstrumentation;
      if (d.name === 'http' && d.entry === undefined) {
        const { buildHttp } = require('./http-server') as typeof import('./http-server');
        const built = buildHttp(Ctor as new (config: object) => LoadedInstrumentation, config, this.httpServer, this.providers, () => require('../instrumentations/http-server') as typeof import('../instrumentations/http-server'));
        instance = built.instance;
        this.details.set(d.name, built.detail);
        this.isolatePatches(d, built.upstream);
      } else if (d.name === 'express' && d.entry === undefined) {
        const { buildExpress } = require('./express') as typeof import('./express');
        const built = buildExpress(Ctor as new (config: object) => LoadedInstrumentation, config, this.express, () => require('../instrumentations/express') as typeof import('../instrumentations/express'));
        instance = built.instance;
        this.details.set(d.name, built.detail);
        this.isolatePatches(d, instance);
      } else {
        instance = new (Ctor as new (config: object) => LoadedInstrumentation)(config);
        this.isolatePatches(d, instance);
      }
      // Some instrumentations create their instruments only here (runtime-node's collectors
      // exist only after the base constructor ran), as upstream's registerInstrumentations does.
      instance.setTracerProvider(this.providers.tracer());
      instance.setMeterProvider(this.providers.meter());
      instance.setLoggerProvider?.(this.providers.logger());
      if (!instance.isEnabled()) instance.enable();
      if (d.channel !== undefined) this.watchChannel(d, instance, d.channel);
      this.states.set(d.name, { status: 'loaded', instance, trigger });
      const detail = this.details.get(d.name);
      this.log.debug(`loaded ${d.package}@${instance.instrumentationVersion} for "${trigger}"${detail !== undefined ? `; ${detail}` : ''}`);
      this.onLoad?.(d);
    } catch (err) {
      this.states.set(d.name, { status: 'failed', error: errorText(err), trigger });
      this.log.warn(`instrumentation ${d.name} (${d.origin ?? d.package}) failed to load for "${trigger}": ${errorText(err)}; "${trigger}" runs uninstrumented`);
    }
  }
}
