import * as nodeModule from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { errorText } from '../log';
import { candidateNames } from './module-names';
import type { Vendor } from './vendor';

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
export function concerns(id: string, parentFile: string | null | undefined, watched: ReadonlySet<string>): boolean {
  const c = id.charCodeAt(0);
  if (c === 35 /* # */) return true;
  if (c === 46 /* . */ || isAbsolute(id)) {
    // A --require preload's parent has no filename (null): resolved from the working directory.
    const file = isAbsolute(id) ? id : typeof parentFile === 'string' ? join(dirname(parentFile), id) : undefined;
    if (file === undefined) return true;
    const pkg = packageOfPath(file);
    return pkg !== undefined && watched.has(pkg);
  }
  for (const name of candidateNames(id)) if (watched.has(name)) return true;
  return false;
}

/**
 * Builtins an instrumentation package requires at load but uses only later, if ever: the package
 * gets a stand-in that requires the builtin at its first use. @opentelemetry/instrumentation-net
 * (enabled by default, loaded by every app that loads net, which Express and any server does)
 * requires tls at load for one `instanceof tls.TLSSocket` at each socket connect: loading tls (its
 * wrap, secure context and crypto modules) at start cost 2.6 MiB of peak RSS in an Express start
 * (docs/performance.md). test/e2e/startup-path.test.mjs fails if the package stops requiring it
 * by this name (tls is then loaded at start again), and checks that a TLS connect still gets its
 * tls.connect span.
 */
const NET_ONLY: ReadonlySet<string> = new Set(['@opentelemetry/instrumentation-net']);
/** Builtin id -> the packages whose require of it gets a stand-in. */
const DEFERRED_BUILTINS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['tls', NET_ONLY],
  ['node:tls', NET_ONLY],
]);

/** Whether require(id) from `parentFile` gets a stand-in (DEFERRED_BUILTINS). */
export function deferredBuiltin(parentFile: string | null | undefined, id: string): boolean {
  const pkgs = DEFERRED_BUILTINS.get(id);
  if (pkgs === undefined || typeof parentFile !== 'string') return false;
  const pkg = packageOfPath(parentFile);
  return pkg !== undefined && pkgs.has(pkg);
}

/**
 * A module's exports, loaded by `load` at the first touch of any property. A Proxy, so whatever
 * the package reads, writes or lists on it reaches the real exports. If `load` throws, so does
 * that touch, as the require would have at load.
 */
export function lazyModule(load: () => unknown): object {
  let real: object | undefined;
  const target = (): object => {
    if (real !== undefined) return real;
    const r = load();
    const obj: object = (typeof r === 'object' && r !== null) || typeof r === 'function' ? r : (Object(r) as object);
    real = obj;
    return obj;
  };
  return new Proxy(Object.create(null) as object, {
    get: (_o, k) => Reflect.get(target(), k),
    set: (_o, k, v) => Reflect.set(target(), k, v),
    has: (_o, k) => Reflect.has(target(), k),
    deleteProperty: (_o, k) => Reflect.deleteProperty(target(), k),
    ownKeys: () => Reflect.ownKeys(target()),
    // Configurable as seen through the stand-in: a Proxy may not report a non-configurable
    // property its own (empty) target lacks.
    getOwnPropertyDescriptor: (_o, k) => {
      const d = Reflect.getOwnPropertyDescriptor(target(), k);
      return d === undefined ? undefined : { ...d, configurable: true };
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(target()),
  });
}

/** What the filter needs from upstream's RequireInTheMiddleSingleton. */
interface Registry {
  register(moduleName: string, onRequire: unknown): unknown;
}

/**
 * Upstream's require-in-the-middle hook takes every require() of the process: it resolves the id
 * once more before Node does, and for a file of a package it resolves that package's main too,
 * whether or not any instrumentation cares (about 38 ms of an Express start,
 * docs/performance.md). And making it means loading @opentelemetry/instrumentation (with
 * @opentelemetry/api), which a process that never requires a watched module does not need.
 *
 * This filter sits on Module.prototype.require from the start. The first require that can reach
 * a watched module (or the first instrumentation to load, through `ensurePrimed`) makes the hook
 * (`prime`, run with the require that was in place before the filter, so the hook wraps that);
 * from then on the filter sends on only the requires that can reach a watched module: the names
 * the instrumentations target (`targets`, known before any of them loads) and every name
 * registered with the singleton later (an instrumentation may register more names than its
 * catalog entry, and the app may build its own instrumentations on the same copy). Everything
 * else goes straight to the require that was in place before.
 *
 * The names are learnt by wrapping register() of the singletons `prime` returns: a method of
 * upstream's own object, which it calls on each instrumentation's enable().
 * test/e2e/startup-path.test.mjs (an app's own instrumentation of a module we do not list) fails
 * if a name registered there stops reaching require-in-the-middle. If the hook already existed
 * when priming (an instrumentation built by someone else first), it wraps the filter, so the
 * filter sends everything straight on; if a singleton has no register(), everything goes
 * through the hook, as without the filter.
 */
export class RequireFilter {
  private state: 'waiting' | 'filter' | 'hook' | 'direct' = 'waiting';
  private hooked: RequireFn;
  private readonly watched = new Set<string>();
  private readonly before: RequireFn;

  constructor(
    /** Makes upstream's hook; returns the singletons it made (or found). */
    private readonly prime: () => unknown[],
    targets: readonly string[],
    /** Told once what priming did, or why it failed. */
    private readonly report: (line: string, failed: boolean) => void,
  ) {
    targets.forEach((t) => this.watch(t));
    this.before = currentRequire();
    this.hooked = this.before;
    const self = this;
    (nodeModule.Module.prototype as unknown as { require: RequireFn }).require = function (this: nodeModule.Module, id: string) {
      // eslint-disable-next-line prefer-rest-params
      return self.route(this, id, arguments as unknown as [string]);
    };
  }

  private watch(name: string): void {
    for (const n of candidateNames(name)) this.watched.add(n);
  }

  /** Serves upstream packages to ours from dist/vendor.js (src/hooks/vendor.ts), whatever the state. */
  vendor: Pick<Vendor, 'serve'> | undefined;

  private route(mod: nodeModule.Module, id: string, args: [string]): unknown {
    if (deferredBuiltin(mod?.filename, id)) return lazyModule(() => this.routeNow(mod, id, args));
    return this.routeNow(mod, id, args);
  }

  private routeNow(mod: nodeModule.Module, id: string, args: [string]): unknown {
    if (this.vendor !== undefined && typeof id === 'string' && id.charCodeAt(0) === 64 /* @ */) {
      const v = this.served(mod, id);
      if (v !== undefined) return v.exports;
    }
    if (this.state === 'direct') return this.before.apply(mod, args);
    if (this.state === 'hook') return this.hooked.apply(mod, args);
    if (!this.mayReach(mod, id)) return this.before.apply(mod, args);
    this.ensurePrimed();
    // 'direct' when the hook was already in place, in front of us, or could not be made.
    return this.primedRequire().apply(mod, args);
  }

  /** Never throws into the app's require(): on any failure Node's require() decides. */
  private served(mod: nodeModule.Module | undefined, id: string): { exports: unknown } | undefined {
    try {
      return this.vendor?.serve(mod?.filename, id);
    } catch (err) {
      this.report(`upstream bundle: not used for ${id} (${errorText(err)})`, false);
      this.vendor = undefined;
      return undefined;
    }
  }

  /** `next`, with upstream's packages served from the bundle first. */
  private withVendor(next: RequireFn): RequireFn {
    const self = this;
    return function (this: nodeModule.Module, id: string) {
      if (typeof id === 'string' && id.charCodeAt(0) === 64 /* @ */) {
        const v = self.served(this, id);
        if (v !== undefined) return v.exports;
      }
      // eslint-disable-next-line prefer-rest-params
      return next.apply(this, arguments as unknown as [string]);
    };
  }

  /** Never throws into the app's require(): when in doubt, the hook sees it. */
  private mayReach(mod: nodeModule.Module | undefined, id: unknown): boolean {
    try {
      return typeof id !== 'string' || concerns(id, mod?.filename, this.watched);
    } catch {
      return true;
    }
  }

  private primedRequire(): RequireFn {
    return this.state === 'direct' ? this.before : this.hooked;
  }

  /** Makes upstream's hook now, if not yet made: before any instrumentation is constructed. */
  ensurePrimed(): void {
    if (this.state !== 'waiting') return;
    this.state = 'direct';
    const proto = nodeModule.Module.prototype as unknown as { require: RequireFn };
    const entry = proto.require;
    // Upstream's packages are served from the bundle while priming too (the API's globals may be
    // registered in there): upstream's hook then wraps that.
    const base = this.vendor !== undefined ? this.withVendor(this.before) : this.before;
    proto.require = base;
    let registries: unknown[];
    let after: RequireFn;
    try {
      registries = this.prime();
    } catch (err) {
      this.report(`require-in-the-middle could not be set up (${errorText(err)}); CommonJS modules will not be instrumented`, true);
      return;
    } finally {
      after = proto.require;
      proto.require = entry;
    }
    if (after === base) {
      this.report('require hook: require-in-the-middle was already in place, in front of the filter', false);
      return;
    }
    this.hooked = after;
    const regs = registries.filter((r): r is Registry => typeof r === 'object' && r !== null && typeof (r as Partial<Registry>).register === 'function');
    if (regs.length !== registries.length || regs.length === 0) {
      this.state = 'hook';
      this.report('require hook: every require goes through require-in-the-middle (its singleton has no register())', false);
      return;
    }
    const self = this;
    for (const r of regs) {
      const register = r.register;
      r.register = function (this: Registry, moduleName: string, onRequire: unknown) {
        if (typeof moduleName === 'string') self.watch(moduleName);
        return register.call(this, moduleName, onRequire);
      };
    }
    this.state = 'filter';
    this.report('require hook: primed; only requires that can reach a module some instrumentation targets go through require-in-the-middle', false);
  }
}
