import { readFileSync, realpathSync, statSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { cachePath, loadCached, writeCache } from '../script-cache';
import { basename, dirname, join, sep } from 'node:path';
import { packageOfPath } from './require-filter';

/** Set by scripts/bundle.mjs: the version of each package in dist/vendor.js. */
declare const VENDOR_VERSIONS: Readonly<Record<string, string>> | undefined;
/** Set by scripts/bundle.mjs: dist/vendor.js's content hash, naming its code cache file. */
declare const VENDOR_HASH: string | undefined;

/** dist/vendor.js (scripts/bundle.mjs). */
interface VendorBundle {
  setEdge(fn: (from: string, id: string) => unknown): void;
  get(name: string): unknown;
}

/** A package as Node finds it by name from a directory: its real directory and version. */
interface Found {
  readonly root: string;
  readonly version: string;
}

/** The versions in dist/vendor.js; empty when this code did not come from the bundle (tsc's dist/). */
export function vendoredVersions(): Readonly<Record<string, string>> {
  return typeof VENDOR_VERSIONS === 'object' && VENDOR_VERSIONS !== null ? VENDOR_VERSIONS : {};
}

/**
 * Serves @opentelemetry/api, core, semantic-conventions and instrumentation from one prebuilt
 * file, dist/vendor.js, to the packages we load (our own bundle, the instrumentation packages,
 * our other dependencies, the packages of plugins we load), instead of the ~100 files Node would resolve, read and compile one by
 * one (docs/performance.md, Startup). Only where it is the same code: a vendored package X stands
 * for the copy of X our own package resolves (its real directory, "canonical"), and a require of X
 * is served from the bundle only when Node would find that very directory from the requiring
 * file, holding the version the bundle was built from. Anything else (a nested copy of another
 * version, a package not found by walking up node_modules/, a require by the app's own code) goes
 * to Node as before. So everything we load shares one instance per package:
 * @opentelemetry/instrumentation (and its require-in-the-middle singleton) stays one copy. The
 * app's own require() of the same directory gets Node's instance, a second one of the same code:
 * the API's globals and core's context keys are Symbol.for() keys, shared across copies, and an
 * app's own instrumentation gets its own require-in-the-middle hook
 * (test/e2e/startup-path.test.mjs, "an app's own instrumentation").
 *
 * Inside the bundle, a require from one vendored package to another package is decided the same
 * way at run time (edge()), from the real directory of the requiring package; what is not served
 * from the bundle is required by Node from there (require-in-the-middle, import-in-the-middle:
 * the app's copies, never a second one).
 *
 * Each lookup is a few package.json reads, cached per directory and name. Never throws: a failure
 * means Node's require(). Off with OTEL_NODE_UPSTREAM_BUNDLE=false.
 */
export class Vendor {
  private bundle: VendorBundle | undefined;
  private readonly found = new Map<string, Found | null>();
  private readonly canonicalRoots = new Map<string, string | null>();
  private readonly ownDist: string;
  private apiServed = false;
  /** Packages served from the bundle so far, and how often: the debug line and the tests. */
  readonly served = new Map<string, number>();

  constructor(
    private readonly versions: Readonly<Record<string, string>>,
    /** Our bundle's directory (dist/): where the canonical copies are resolved from. */
    private readonly ownDir: string,
    /** Packages whose requires may be served: the instrumentation packages, our dependencies. */
    private readonly ours: ReadonlySet<string>,
    private readonly bundleFile: string,
    /** Run once before the API is first served to a package (the globals' registration, as a resolve of it would). */
    private readonly onApi: () => void,
    /** The default cache directory, when the bundle's code cache may be kept there. */
    private readonly cacheDir?: string,
    /** Told once, when the bundle loads, what became of its code cache. */
    private readonly debug?: (line: string) => void,
  ) {
    this.ownDist = ownDir.endsWith(sep) ? ownDir : `${ownDir}${sep}`;
  }

  /** Whether `id` is a name the bundle holds (the cheap test before anything else). */
  holds(id: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.versions, id);
  }

  /**
   * What require(id) from `parentFile` gets from the bundle, or undefined for Node's require().
   * Only a parent of ours: a file of our dist/ or of a package in `ours`.
   */
  serve(parentFile: string | null | undefined, id: string): { exports: unknown } | undefined {
    if (!this.holds(id) || typeof parentFile !== 'string') return undefined;
    const own = parentFile.startsWith(this.ownDist);
    if (!own) {
      const pkg = packageOfPath(parentFile);
      if (pkg === undefined || pkg === id || !this.ours.has(pkg)) return undefined;
    }
    if (!this.sameCopy(dirname(parentFile), id)) return undefined;
    return { exports: this.get(id, !own) };
  }

  /** Whether Node, from `dir`, finds the canonical copy of `name` at the bundle's version. */
  private sameCopy(dir: string, name: string): boolean {
    const want = this.versions[name];
    const canonical = this.canonical(name);
    if (want === undefined || canonical === null) return false;
    const f = this.lookup(dir, name);
    return f !== null && f.root === canonical && f.version === want;
  }

  private canonical(name: string): string | null {
    let r = this.canonicalRoots.get(name);
    if (r === undefined) {
      r = this.lookup(this.ownDir, name)?.root ?? null;
      this.canonicalRoots.set(name, r);
    }
    return r;
  }

  /**
   * Node's walk for a bare specifier (Module._nodeModulePaths): dir/node_modules/name, then each
   * parent's (a node_modules directory adds none of its own). The first directory of that name
   * decides; one without a readable package.json of that name and a version means "not ours to
   * decide" (null), as does not finding it at all (NODE_PATH, global folders). Cached per
   * directory, so the directories above are looked at once for all below them.
   */
  private lookup(dir: string, name: string): Found | null {
    const key = `${dir}\0${name}`;
    const cached = this.found.get(key);
    if (cached !== undefined) return cached;
    let result: Found | null = null;
    const pkgDir = basename(dir) === 'node_modules' ? undefined : join(dir, 'node_modules', name);
    if (pkgDir !== undefined && statSync(pkgDir, { throwIfNoEntry: false }) !== undefined) {
      try {
        const p = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
        if (p.name === name && typeof p.version === 'string') result = { root: realpathSync(pkgDir), version: p.version };
      } catch {
        // unreadable: not ours to decide
      }
    } else if (dirname(dir) !== dir) result = this.lookup(dirname(dir), name);
    this.found.set(key, result);
    return result;
  }

  /**
   * The bundle, with its own V8 code cache in the default cache directory (src/script-cache.ts),
   * written at exit when missing or rejected: by then it holds the functions this process ran,
   * which Node's compile cache would leave out (each module of the bundle is one).
   */
  private load(): VendorBundle {
    if (this.bundle === undefined) {
      const cache = this.cacheDir !== undefined && typeof VENDOR_HASH === 'string' ? cachePath(this.cacheDir, 'vendor', VENDOR_HASH) : undefined;
      const loaded = loadCached(this.bundleFile, cache);
      const b = loaded.exports as VendorBundle;
      b.setEdge((from, id) => this.edge(from, id));
      this.bundle = b;
      this.debug?.(`upstream bundle loaded; its code cache: ${loaded.status}`);
      const script = loaded.script;
      if (cache !== undefined && script !== undefined) process.once('exit', () => writeCache(cache, script));
    }
    return this.bundle;
  }

  private get(name: string, toPackage: boolean): unknown {
    if (name === '@opentelemetry/api' && toPackage && !this.apiServed) {
      this.apiServed = true;
      try {
        this.onApi();
      } catch (err) {
        // Ours to report, never the requiring package's (it would leave its module half-made).
        this.debug?.(`upstream bundle: registering the API's globals failed (${err instanceof Error ? err.message : String(err)})`);
      }
    }
    const exports = this.load().get(name);
    this.served.set(name, (this.served.get(name) ?? 0) + 1);
    return exports;
  }

  /** A require from vendored package `from` (standing for its canonical copy) to `id`. */
  private edge(from: string, id: string): unknown {
    const root = this.canonical(from) ?? this.ownDir;
    try {
      if (this.holds(id) && this.sameCopy(root, id)) return this.get(id, true);
    } catch {
      // Node's require below decides
    }
    return nodeModule.createRequire(join(root, 'package.json'))(id);
  }
}
