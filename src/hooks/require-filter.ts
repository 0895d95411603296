import * as nodeModule from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { candidateNames } from './module-names';

export type RequireFn = (this: nodeModule.Module, id: string) => unknown;

/** Module.prototype.require as it is now. */
export function currentRequire(): RequireFn {
  return (nodeModule.Module.prototype as unknown as { require: RequireFn }).require;
}

/** The package a file belongs to: the name after its last node_modules/ ("@scope/name" or "name"). */
export function packageOfPath(file: string): string | undefined {
  const i = Math.max(file.lastIndexOf('/node_modules/'), file.lastIndexOf('\\node_modules\\'));
  if (i === -1) return undefined;
  const parts = file.slice(i + 14).split(/[\\/]/);
  const first = parts[0];
  if (first === undefined || first === '') return undefined;
  return first.startsWith('@') && parts[1] !== undefined ? `${first}/${parts[1]}` : first;
}

/**
 * Whether require(id) from `parent` can reach a module some instrumentation watches, by names
 * alone (no resolution): a listed package or builtin by name; a relative or absolute path into a
 * listed package; any "#import" (it may map to a listed package). require-in-the-middle patches
 * only builtins and files under node_modules/, so an app's own file is never concerned.
 */
export function concerns(id: string, parentFile: string | undefined, watched: ReadonlySet<string>): boolean {
  const c = id.charCodeAt(0);
  if (c === 35 /* # */) return true;
  if (c === 46 /* . */ || isAbsolute(id)) {
    const file = isAbsolute(id) ? id : parentFile !== undefined ? join(dirname(parentFile), id) : undefined;
    if (file === undefined) return true;
    const pkg = packageOfPath(file);
    return pkg !== undefined && watched.has(pkg);
  }
  for (const name of candidateNames(id)) if (watched.has(name)) return true;
  return false;
}

/** What installRequireFilter needs from upstream's RequireInTheMiddleSingleton. */
interface Registry {
  register(moduleName: string, onRequire: unknown): unknown;
}

/**
 * Upstream's require-in-the-middle hook (made by primeRequireHook) takes every require() of the
 * process: it resolves the id once more before Node does, and for a file of a package it
 * resolves that package's main too, whether or not any instrumentation cares (about 38 ms of an
 * Express start, docs/performance.md). This filter goes in front of it and sends on only the
 * requires that can reach a watched module: the names the instrumentations target (`targets`,
 * known before any of them loads) and every name registered with the singleton later (an
 * instrumentation may register more names than its catalog entry, and the app may build its own
 * instrumentations on the same copy). Everything else goes straight to the require that was in
 * place before the hook.
 * `registries`: the singletons the priming made. Their register() is wrapped to learn the names:
 * a method of upstream's own object, which it calls on each instrumentation's enable();
 * test/e2e/startup-path.test.mjs (an app's own instrumentation of a module we do not list) fails
 * if a name registered there stops reaching require-in-the-middle.
 * Returns false (nothing installed, every require goes through the hook as before) when the
 * priming did not leave the hook in place as expected.
 */
export function installRequireFilter(before: RequireFn, hooked: RequireFn, registries: readonly unknown[], targets: readonly string[]): boolean {
  const proto = nodeModule.Module.prototype as unknown as { require: RequireFn };
  // Something else wrapped require() after the priming: it must see every require, keep out.
  if (hooked === before || proto.require !== hooked || registries.length === 0) return false;
  const regs: Registry[] = [];
  for (const r of registries) {
    if (typeof r !== 'object' || r === null || typeof (r as Partial<Registry>).register !== 'function') return false;
    regs.push(r as Registry);
  }
  const watched = new Set<string>();
  const watch = (name: string): void => {
    for (const n of candidateNames(name)) watched.add(n);
  };
  targets.forEach(watch);
  for (const r of regs) {
    const register = r.register;
    r.register = function (this: Registry, moduleName: string, onRequire: unknown) {
      if (typeof moduleName === 'string') watch(moduleName);
      return register.call(this, moduleName, onRequire);
    };
  }
  proto.require = function (this: nodeModule.Module, id: string) {
    // eslint-disable-next-line prefer-rest-params
    const args = arguments as unknown as [string];
    if (typeof id !== 'string' || concerns(id, this?.filename, watched)) return hooked.apply(this, args);
    return before.apply(this, args);
  };
  return true;
}
