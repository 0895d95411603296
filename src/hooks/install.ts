import * as nodeModule from 'node:module';
import { has } from '../node-features';
import { errorText, type Logger } from '../log';
import type { InstrumentationDescriptor } from '../catalog/types';
import type { LazyInstrumentations } from './lazy-instrumentations';
import { onFirstGlobalUse } from './global-trigger';
import { isBuiltin } from './module-names';
import { ImportedCjs } from './imported-cjs';

type InstrumentationPkg = typeof import('@opentelemetry/instrumentation');

/**
 * Creates upstream's shared require-in-the-middle hook (called by RequireFilter before the first
 * require that can reach a watched module, and before any instrumentation loads).
 * @opentelemetry/instrumentation makes it as a field of the first InstrumentationBase ever
 * constructed (RequireInTheMiddleSingleton.getInstance()). If that first construction happened
 * inside the app's require('express'), the hook would wrap Module.prototype.require too late for
 * that call and express would load unpatched. A do-nothing instrumentation built here makes it
 * exist first; the CJS e2e tests (express spans under --require) fail if upstream changes this.
 * `instrumentationPkg` must be the copy the instrumentation packages themselves resolve.
 */
export function primeRequireHook(instrumentationPkg: InstrumentationPkg): unknown {
  class Anchor extends instrumentationPkg.InstrumentationBase {
    override init(): [] {
      return [];
    }
  }
  const anchor = new Anchor('otel-autoinstrument-anchor', '0.0.0', { enabled: false });
  // The singleton itself, for installRequireFilter (src/hooks/require-filter.ts says why and
  // which test covers it); upstream keeps it in this field of every instrumentation.
  return (anchor as unknown as { _requireInTheMiddleSingleton?: unknown })._requireInTheMiddleSingleton;
}

type ResolveHook = Parameters<typeof nodeModule.registerHooks>[0]['resolve'] & {};
type LoadHook = Parameters<typeof nodeModule.registerHooks>[0]['load'] & {};
type ResolveContext = Parameters<ResolveHook>[1];
type ResolveResult = ReturnType<ResolveHook>;

/** What import-in-the-middle's create-hook.mjs gives for one set of synchronous hooks. */
interface IitmSyncHook {
  resolveSync: ResolveHook;
  loadSync: LoadHook;
  applyOptions(o: { shouldInclude(url: string, specifier: string): boolean }): void;
}

/** import-in-the-middle's create-hook.mjs, or our bundle of it (dist/iitm-hook.js). */
interface IitmHookModule {
  createHook(meta: { url: string }): IitmSyncHook;
  /** Only in the bundle: the version it was built from. */
  IITM_VERSION?: string;
}

/** Set by scripts/bundle.mjs: the import-in-the-middle version in dist/iitm-hook.js. */
declare const IITM_HOOK_VERSION: string | undefined;

/**
 * createHook from dist/iitm-hook.js (scripts/bundle.mjs says why it is cheaper to load than
 * create-hook.mjs), when that is the version of the copy the app resolves (`hookPath`: its
 * hook.mjs); else undefined, and the caller loads create-hook.mjs. Not in tsc's dist/ (no bundle
 * beside it); test/e2e/traces.test.mjs ("hooks come from dist/iitm-hook.js") fails if it stops
 * being used.
 */
function bundledCreateHook(hookPath: string, log: Logger): IitmHookModule['createHook'] | undefined {
  if (typeof IITM_HOOK_VERSION !== 'string') return undefined;
  try {
    const { readFileSync } = require('node:fs') as typeof import('node:fs');
    const { dirname, join } = require('node:path') as typeof import('node:path');
    const installed = (JSON.parse(readFileSync(join(dirname(hookPath), 'package.json'), 'utf8')) as { version?: unknown }).version;
    if (installed !== IITM_HOOK_VERSION) {
      log.debug(`ESM hook: import-in-the-middle ${String(installed)} is not the bundled ${IITM_HOOK_VERSION}; loading its create-hook.mjs`);
      return undefined;
    }
    const mod = require(join(__dirname, 'iitm-hook.js')) as IitmHookModule;
    if (mod.IITM_VERSION !== IITM_HOOK_VERSION || typeof mod.createHook !== 'function') throw new Error('dist/iitm-hook.js is not the build this bundle expects');
    return mod.createHook;
  } catch (err) {
    log.debug(`ESM hook: bundled import-in-the-middle unusable (${errorText(err)}); loading its create-hook.mjs`);
    return undefined;
  }
}

/** Which resolved modules import-in-the-middle must wrap, and how to reach it. */
export interface EsmPlan {
  /** Module names and file URLs, as import-in-the-middle's `include` option takes them. */
  readonly include: readonly string[];
  /** Also wrap these (OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE's unqualified names). */
  readonly alsoInclude?: (url: string) => boolean;
  /** Where import-in-the-middle is resolved from (auto-instrumentations-node's copy). */
  readonly resolveFrom: string;
  /**
   * Package names whose CommonJS main, when imported, require-in-the-middle may patch instead
   * (src/hooks/imported-cjs.ts): the instrumentations' targets, not what `include` lists for
   * another reason.
   */
  readonly requireHooked?: readonly string[];
}

/**
 * import-in-the-middle's list rule, as one predicate: the specifier or the resolved URL is listed
 * (a builtin also as node:name), or `alsoInclude` takes the URL.
 */
function includeRule(plan: EsmPlan): (url: string, specifier: string) => boolean {
  const listed = new Set(plan.include.flatMap((n) => (isBuiltin(n) ? [n, `node:${n}`] : [n])));
  const also = plan.alsoInclude;
  return (url, specifier) => listed.has(specifier) || listed.has(url) || (also !== undefined && also(url));
}

/**
 * import-in-the-middle 3.6.0 (create-hook.mjs finishResolve) takes any request whose parent URL
 * is '' for an extensionless CLI entry point and labels it "commonjs". The eval wrapper of
 * `node -e` has that parent and lazily requires node:module, which Node then tries to read from
 * disk: ENOENT, and `node -e` dies. A builtin is never commonjs.
 */
function builtinFormat(result: ResolveResult): ResolveResult {
  return result.format === 'commonjs' && result.url.startsWith('node:') ? { ...result, format: 'builtin' } : result;
}

/** An ES import, not a require(): import-in-the-middle leaves require() resolutions alone. */
function isImport(context: ResolveContext): boolean {
  return context.conditions?.includes('require') !== true;
}

/**
 * import-in-the-middle's synchronous hooks, registered only at the first ES import they would
 * wrap. Until then no ES module needs them, and a registered load hook costs every module the
 * process loads, CommonJS included (docs/performance.md, Startup): a CommonJS app under
 * --require, or `node -e`, may never register them at all.
 */
class LazyEsmHook {
  /** undefined: not yet; null: could not be installed (said once). */
  private hook: IitmSyncHook | null | undefined;
  readonly wants: (url: string, specifier: string) => boolean;

  constructor(
    private readonly plan: EsmPlan,
    private readonly log: Logger,
    /** URLs left to require-in-the-middle (src/hooks/imported-cjs.ts). */
    taken: ReadonlySet<string>,
  ) {
    const rule = includeRule(plan);
    this.wants = (url, specifier) => !taken.has(url) && rule(url, specifier);
  }

  get pending(): boolean {
    return this.hook === undefined;
  }

  /**
   * Registers import-in-the-middle's hooks and returns them. Called from inside our own resolve
   * hook: Node builds each resolve chain before running it (lib/internal/modules/
   * customization_hooks.js, buildHooks), so hooks registered now apply from the next resolve on,
   * and the caller passes the present one to `resolveSync` itself. That is why the hooks come
   * from import-in-the-middle's create-hook.mjs (the module its register-hooks.mjs registers
   * from, without handing out the functions; or our bundle of it, bundledCreateHook) rather than
   * from register(): test/e2e/traces.test.mjs ("first ES import is express ...
   * OTEL_NODE_IMPORTED_COMMONJS=wrap") fails if this stops wrapping that import.
   */
  install(): IitmSyncHook | null {
    if (this.hook !== undefined) return this.hook;
    this.hook = null;
    try {
      const req = nodeModule.createRequire(this.plan.resolveFrom);
      const { pathToFileURL } = require('node:url') as typeof import('node:url');
      const hookPath = req.resolve('import-in-the-middle/hook.mjs');
      const createHook = bundledCreateHook(hookPath, this.log) ?? (req('import-in-the-middle/create-hook.mjs') as IitmHookModule).createHook;
      // hook.mjs's own call: createHook(import.meta) of that file. The bundled copy gets the real
      // file's URL too: the wrappers it generates import lib/register.js from there (one copy).
      const hook = createHook({ url: pathToFileURL(hookPath).href });
      if (typeof hook.resolveSync !== 'function' || typeof hook.loadSync !== 'function') throw new Error('import-in-the-middle/create-hook.mjs has no synchronous hooks');
      hook.applyOptions({ shouldInclude: this.wants });
      nodeModule.registerHooks({ resolve: hook.resolveSync, load: hook.loadSync });
      // Registered after import-in-the-middle's, so it runs before it and sees its answer.
      nodeModule.registerHooks({ resolve: (specifier, context, nextResolve) => builtinFormat(nextResolve(specifier, context)) });
      this.hook = hook;
      this.log.debug(`ESM hook: import-in-the-middle registered at the first ES import it wraps`);
    } catch (err) {
      this.log.warn(`ESM hook could not be installed (${errorText(err)}); ES modules will not be instrumented, CommonJS still is`);
    }
    return this.hook;
  }
}

/**
 * The one resolve hook: every specifier the app (or a dependency) resolves passes by here.
 * `onApi`: run once, before the first resolve of @opentelemetry/api (the globals' registration).
 * `esm`: import-in-the-middle's hooks to register at the first ES import they would wrap (Nodes
 * with synchronous hooks); otherwise installEsmHook has put them in place already.
 * `onSpecifier`: sees every specifier resolved, with its parent (src/start.ts: the multiprocess hub's first need).
 */
export function installResolveHook(lazy: LazyInstrumentations, log: Logger, onApi: () => void, esm?: EsmPlan, onSpecifier?: (specifier: string, parentURL: string | undefined) => void): void {
  let reported = false;
  let api = false;
  const imported = esm !== undefined ? importedCjs(esm, log) : undefined;
  const late = esm !== undefined ? new LazyEsmHook(esm, log, imported?.urls ?? new Set()) : undefined;
  nodeModule.registerHooks({
    resolve(specifier, context, nextResolve) {
      try {
        // Any copy of the API, vendored ones too ("next/dist/compiled/@opentelemetry/api").
        if (!api && specifier.includes('@opentelemetry/api')) {
          api = true;
          onApi();
        }
        lazy.onResolve(specifier, context.parentURL);
        onSpecifier?.(specifier, context.parentURL);
      } catch (err) {
        // LazyInstrumentations catches per instrumentation; this is a bug of ours. Say it once.
        if (!reported) log.error(`module hook: ${errorText(err)}`);
        reported = true;
      }
      let result = nextResolve(specifier, context);
      if (imported !== undefined && isImport(context) && imported.take(specifier, context.parentURL, result.url, result.format)) return builtinFormat(result);
      if (late?.pending === true && isImport(context) && late.wants(result.url, specifier)) {
        const hook = late.install();
        // Resolves a second time, through import-in-the-middle, which marks the URL for wrapping.
        if (hook !== null) result = hook.resolveSync(specifier, context, nextResolve);
      }
      return builtinFormat(result);
    },
  });
}

/** The route that leaves an imported CommonJS package to require-in-the-middle, if any target can take it. */
function importedCjs(plan: EsmPlan, log: Logger): ImportedCjs | undefined {
  const targets = new Set((plan.requireHooked ?? []).filter((n) => !isBuiltin(n)));
  if (targets.size === 0) return undefined;
  let registerDir: string | undefined;
  const ours = (value: string): boolean => {
    if (value === 'otel-autoinstrument/register') return true;
    const { dirname, resolve } = require('node:path') as typeof import('node:path');
    const { fileURLToPath } = require('node:url') as typeof import('node:url');
    registerDir ??= dirname(require.resolve('otel-autoinstrument/register'));
    return dirname(resolve(value.startsWith('file:') ? fileURLToPath(value) : value)) === registerDir;
  };
  return new ImportedCjs(targets, plan.alsoInclude, ours, log);
}

/** Whether import-in-the-middle can wait for the first ES import (see LazyEsmHook). */
export function esmHookCanWait(): boolean {
  return has('syncEsmHooks');
}

/**
 * Nodes without synchronous ESM hooks (before nodejs/node#59929): import-in-the-middle's threaded
 * loader, given the same include list, must be in place before the app's first import.
 */
export function installEsmHook(plan: EsmPlan, log: Logger): void {
  try {
    if (plan.alsoInclude !== undefined) log.warn(`unqualified names in OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE apply to CommonJS modules only on Node ${process.versions.node}; ES modules need Node >= 22.22.3 or >= 24.11.1 (qualify the name with its file to trace it in an ES module)`);
    const { pathToFileURL } = require('node:url') as typeof import('node:url');
    const req = nodeModule.createRequire(plan.resolveFrom);
    nodeModule.register(pathToFileURL(req.resolve('import-in-the-middle/hook.mjs')).href, { data: { include: plan.include } });
  } catch (err) {
    log.warn(`ESM hook could not be installed (${errorText(err)}); ES modules will not be instrumented, CommonJS still is`);
  }
}

export function installGlobalTriggers(lazy: LazyInstrumentations): void {
  for (const d of lazy.enabled) {
    for (const g of d.globals) onFirstGlobalUse(g, () => lazy.activate(d, `globalThis.${g}`));
  }
}

/**
 * A plugin may bring its own copy of @opentelemetry/instrumentation, with its own
 * require-in-the-middle singleton, which must exist before the app's first require as ours does.
 * `sharesOurs`, when ours came from the upstream bundle (src/hooks/vendor.ts): whether a plugin's
 * entry gets that same instance; one that does not gets Node's, another instance even from the
 * same directory as ours, so it is primed too.
 */
export function primePluginCopies(selected: readonly InstrumentationDescriptor[], ours: string, log: Logger, sharesOurs?: (entry: string) => boolean): unknown[] {
  const seen = new Set(sharesOurs === undefined ? [ours] : []);
  const registries: unknown[] = [];
  for (const d of selected) {
    if (d.entry === undefined) continue;
    try {
      if (sharesOurs?.(d.entry) === true) continue;
      const copy = nodeModule.createRequire(d.entry).resolve('@opentelemetry/instrumentation');
      if (seen.has(copy)) continue;
      seen.add(copy);
      registries.push(primeRequireHook(require(copy) as typeof import('@opentelemetry/instrumentation')));
    } catch (err) {
      log.debug(`instrumentation ${d.name} (${d.origin ?? ''}): no @opentelemetry/instrumentation to prime (${errorText(err)})`);
    }
  }
  return registries;
}

