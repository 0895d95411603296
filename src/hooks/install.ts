import * as nodeModule from 'node:module';
import { has } from '../node-features';
import { errorText, type Logger } from '../log';
import type { InstrumentationDescriptor } from '../catalog/types';
import type { LazyInstrumentations } from './lazy-instrumentations';
import { onFirstGlobalUse } from './global-trigger';
import { isBuiltin } from './module-names';

type InstrumentationPkg = typeof import('@opentelemetry/instrumentation');

/**
 * Creates upstream's shared require-in-the-middle hook now, before the app's first require.
 * @opentelemetry/instrumentation makes it as a field of the first InstrumentationBase ever
 * constructed (RequireInTheMiddleSingleton.getInstance()). If that first construction happened
 * inside the app's require('express'), the hook would wrap Module.prototype.require too late for
 * that call and express would load unpatched. A do-nothing instrumentation built here makes it
 * exist first; the CJS e2e tests (express spans under --require) fail if upstream changes this.
 * `instrumentationPkg` must be the copy the instrumentation packages themselves resolve.
 */
export function primeRequireHook(instrumentationPkg: InstrumentationPkg): void {
  class Anchor extends instrumentationPkg.InstrumentationBase {
    override init(): [] {
      return [];
    }
  }
  new Anchor('otel-autoinstrument-anchor', '0.0.0', { enabled: false });
}

/**
 * The one resolve hook: every specifier the app (or a dependency) resolves passes by here.
 * Install it after the ESM hook so that it runs first and sees import-in-the-middle's answer.
 */
export function installResolveHook(lazy: LazyInstrumentations, log: Logger): void {
  let reported = false;
  nodeModule.registerHooks({
    resolve(specifier, context, nextResolve) {
      try {
        lazy.onResolve(specifier, context.parentURL);
      } catch (err) {
        // LazyInstrumentations catches per instrumentation; this is a bug of ours. Say it once.
        if (!reported) log.error(`module hook: ${errorText(err)}`);
        reported = true;
      }
      const result = nextResolve(specifier, context);
      // import-in-the-middle 3.6.0 (create-hook.mjs finishResolve) takes any request whose parent
      // URL is '' for an extensionless CLI entry point and labels it "commonjs". The eval
      // wrapper of `node -e` has that parent and lazily requires node:module, which Node then
      // tries to read from disk: ENOENT, and `node -e` dies. A builtin is never commonjs.
      if (result.format === 'commonjs' && result.url.startsWith('node:')) return { ...result, format: 'builtin' };
      return result;
    },
  });
}

/**
 * import-in-the-middle wraps only the modules some instrumentation targets, so nothing else in
 * an ESM app pays for wrapping. Its synchronous in-thread hooks need a Node with
 * nodejs/node#59929; before that, the threaded loader gets the same include list.
 */
export function installEsmHook(include: string[], resolveFrom: string, log: Logger, alsoInclude?: (url: string) => boolean): void {
  const req = nodeModule.createRequire(resolveFrom);
  try {
    if (has('syncEsmHooks')) {
      const iitm = req('import-in-the-middle/register-hooks.mjs') as { register(o: { include: string[] } | { shouldInclude(url: string, specifier: string): boolean }): void };
      if (alsoInclude === undefined) iitm.register({ include });
      else {
        // A predicate replaces import-in-the-middle's list matcher; this is the list's rule
        // (the specifier or the URL is listed; a builtin also as node:name) plus ours.
        const listed = new Set(include.flatMap((n) => (isBuiltin(n) ? [n, `node:${n}`] : [n])));
        iitm.register({ shouldInclude: (url, specifier) => listed.has(specifier) || listed.has(url) || alsoInclude(url) });
      }
    } else {
      if (alsoInclude !== undefined) log.warn(`unqualified names in OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE apply to CommonJS modules only on Node ${process.versions.node}; ES modules need Node >= 22.22.3 or >= 24.11.1 (qualify the name with its file to trace it in an ES module)`);
      const { pathToFileURL } = require('node:url') as typeof import('node:url');
      nodeModule.register(pathToFileURL(req.resolve('import-in-the-middle/hook.mjs')).href, { data: { include } });
    }
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
 */
export function primePluginCopies(selected: readonly InstrumentationDescriptor[], ours: string, log: Logger): void {
  const seen = new Set([ours]);
  for (const d of selected) {
    if (d.entry === undefined) continue;
    try {
      const copy = nodeModule.createRequire(d.entry).resolve('@opentelemetry/instrumentation');
      if (seen.has(copy)) continue;
      seen.add(copy);
      primeRequireHook(require(copy) as typeof import('@opentelemetry/instrumentation'));
    } catch (err) {
      log.debug(`instrumentation ${d.name} (${d.origin ?? ''}): no @opentelemetry/instrumentation to prime (${errorText(err)})`);
    }
  }
}

