import * as nodeModule from 'node:module';
import { optionValues, splitNodeOptions } from '../cli/node-options';
import { errorText, type Logger } from '../log';
import { packageOfPath } from './require-filter';

/** The statics of Node's CommonJS loader this module uses (lib/internal/modules/cjs/loader.js). */
interface CjsLoader {
  _load: (this: unknown, request: unknown, parent: unknown, ...rest: unknown[]) => unknown;
  _extensions: Record<string, ExtensionHandler | undefined>;
}

interface LoadingModule {
  exports: unknown;
  loaded: boolean;
}
type ExtensionHandler = (this: unknown, module: LoadingModule, filename: string) => void;

/** The extensions Module.prototype.load picks for a CommonJS file (its format's, or its name's). */
const CJS_EXTENSIONS = ['.js', '.cjs'];

/**
 * Module._load(file) as Node calls it, with require-in-the-middle's patch applied inside the
 * file's load: between running the file (Module._extensions) and the end of
 * Module.prototype.load, which snapshots `module.exports` for the ES importer (Node 22 and 24:
 * a private field the translator prefers). There the module is marked loaded for one require()
 * of it, which returns its exports as they are to require-in-the-middle, and the exports it
 * hands back (new ones, if an instrumentation returns new exports) become the module's.
 * Module._extensions is swapped only for this call, and put back unless someone replaced it
 * meanwhile.
 */
function loadPatched(loader: CjsLoader, load: () => unknown, file: string, report: (line: string) => void): unknown {
  const exts = loader._extensions;
  const swapped = new Map<string, { ours: ExtensionHandler; theirs: ExtensionHandler }>();
  for (const key of CJS_EXTENSIONS) {
    const theirs = exts[key];
    if (typeof theirs !== 'function') continue;
    const ours: ExtensionHandler = function (this: unknown, module, filename) {
      theirs.call(this, module, filename);
      if (filename !== file) return;
      // The file has run: whatever fails from here is the patching's, and the app keeps the
      // module as it is.
      module.loaded = true;
      try {
        const exports = nodeModule.createRequire(file)(file);
        if (exports !== module.exports) module.exports = exports;
      } catch (err) {
        report(`${file}: patching it failed (${errorText(err)}); the app gets it unpatched`);
      } finally {
        module.loaded = false;
      }
    };
    swapped.set(key, { ours, theirs });
    exts[key] = ours;
  }
  try {
    return load();
  } finally {
    for (const [key, { ours, theirs }] of swapped) if (exts[key] === ours) exts[key] = theirs;
  }
}

/**
 * Whether someone else's module hooks may be on the threaded module.register() path: a --loader,
 * or an --import that is not our register hook (in NODE_OPTIONS or Node's arguments; before ours
 * or after it, as an ES module's `import { register }` would not see the wrapper ImportedCjs puts
 * on register()). Such a load hook may hand Node the source of a CommonJS file, and Node then runs
 * that file with a require() of its own (lib/internal/modules/esm/translators.js), not through
 * Module._load.
 */
function otherLoaders(ours: (value: string) => boolean): boolean {
  return optionValues([...splitNodeOptions(process.env.NODE_OPTIONS ?? ''), ...process.execArgv]).some(
    ([flag, value]) => flag === '--loader' || flag === '--experimental-loader' || (flag === '--import' && (value === undefined || !ours(value))),
  );
}

/** A line that starts with import or export: the file may be an ES module Node detects as one. */
const ESM_LINE = /^[ \t]*(?:import|export)\b/m;

/**
 * A CommonJS package that an ES module imports, patched by require-in-the-middle as a require()
 * of it is, instead of wrapped by import-in-the-middle.
 *
 * import-in-the-middle wraps an imported CommonJS file in a generated ES module: it reads and
 * lexes the file and every file it re-exports, builds the wrapper, and, once its load hook is
 * registered, every module the process loads after passes through that hook. For Express that
 * was ~30 ms CPU and ~3 MiB of peak RSS of a start under --import (docs/performance.md), against
 * ~5 ms under --require. Node evaluates an imported CommonJS file through Module._load(filename)
 * with no parent (translators.js, loadCJSModuleWithModuleLoad; on Node 22 and 24), at the place in
 * evaluation order the import has, and Module._load does not pass through
 * Module.prototype.require, where require-in-the-middle sits. So the resolve hook `take`s such an
 * import, and a wrapper of Module._load lets Node load the file and, inside that load
 * (loadPatched), hands it to require-in-the-middle through one require(), which patches it as it
 * would for a CommonJS app. test/e2e/imported-cjs.test.mjs fails if Node stops loading an
 * imported CommonJS file this way (no express spans).
 *
 * Taken only when this is exactly what a require() from the importer would load (the same file,
 * the main of a package under node_modules/), Node will run it as CommonJS, and no one else's
 * threaded module hooks may hand Node its source; otherwise import-in-the-middle wraps it as
 * before.
 */
export class ImportedCjs {
  /** Files taken at resolve and not yet loaded. */
  private readonly pending = new Set<string>();
  /** Every file taken (import-in-the-middle must leave their URLs alone). */
  readonly urls = new Set<string>();
  /** URLs that are never taken, whoever imports them. */
  private readonly refused = new Set<string>();
  private state: 'idle' | 'installed' | 'off' = 'idle';
  private registered = false;

  constructor(
    /** Package names an instrumentation targets, that import-in-the-middle need not wrap for another reason. */
    private readonly targets: ReadonlySet<string>,
    /** URLs import-in-the-middle must wrap whatever they are (OTEL_NODE_ASYNC_FUNCTIONS_TO_TRACE). */
    private readonly alsoWrapped: ((url: string) => boolean) | undefined,
    /** Whether a --import/--loader value is our own register hook. */
    private readonly ours: (value: string) => boolean,
    private readonly log: Pick<Logger, 'debug' | 'warn'>,
  ) {
    // A module.register() from CommonJS code (a --require preload after ours, the app): from then
    // on, nothing is taken. Set on the module's own exports (an `import * as` may be a copy).
    const mod = require('node:module') as { register?: (...args: unknown[]) => unknown };
    const register = mod.register;
    if (typeof register !== 'function') return;
    const self = this;
    try {
      mod.register = function (this: unknown, ...args: unknown[]) {
        self.registered = true;
        return register.apply(this, args);
      };
    } catch {
      // A read-only export: then only the arguments' check applies.
    }
  }

  /**
   * Whether the ES import of `specifier` from `parentURL`, resolved to `url` (`format`, as
   * resolve gave it), is taken: then the caller does not let import-in-the-middle wrap it. Never
   * throws into the app's import: on any failure import-in-the-middle wraps it.
   */
  take(specifier: string, parentURL: string | undefined, url: string, format: string | null | undefined): boolean {
    if (!this.targets.has(specifier) || this.alsoWrapped?.(url) === true) return false;
    try {
      const taken = this.decide(specifier, parentURL, url, format);
      if (taken) this.log.debug(`imported CommonJS: ${specifier} is patched by require-in-the-middle at its load`);
      return taken;
    } catch (err) {
      this.log.debug(`imported CommonJS: ${specifier} left to import-in-the-middle (${errorText(err)})`);
      return false;
    }
  }

  private decide(specifier: string, parentURL: string | undefined, url: string, format: string | null | undefined): boolean {
    if (this.state === 'off' || this.registered || !url.startsWith('file:') || parentURL?.startsWith('file:') !== true) return false;
    // Loaded already, through the route, by an earlier importer.
    if (this.urls.has(url)) return true;
    if (this.refused.has(url)) return false;
    const { fileURLToPath } = require('node:url') as typeof import('node:url');
    const file = fileURLToPath(url);
    if (!this.commonJsMain(specifier, file, format)) {
      this.refused.add(url);
      return false;
    }
    if (nodeModule.createRequire(parentURL).resolve(specifier) !== file) return false;
    if (!this.install()) return false;
    this.pending.add(file);
    this.urls.add(url);
    return true;
  }

  /** Whether `file` is package `specifier`'s file under node_modules/ and Node will run it as CommonJS. */
  private commonJsMain(specifier: string, file: string, format: string | null | undefined): boolean {
    // require-in-the-middle names a file by its last node_modules/ segment: a linked package's
    // real path may have none, which import-in-the-middle, going by the specifier, still wraps.
    if (packageOfPath(file) !== specifier) return false;
    if (format === 'commonjs') return true;
    // Undecided at resolve: Node reads the file and looks for ES syntax (a .js file in a package
    // without "type"). Only one with no line that could be ES syntax is taken.
    if (format != null || !/\.c?js$/.test(file)) return false;
    const { readFileSync } = require('node:fs') as typeof import('node:fs');
    return !ESM_LINE.test(readFileSync(file, 'utf8'));
  }

  private install(): boolean {
    if (this.state !== 'idle') return this.state === 'installed';
    this.state = 'off';
    if (otherLoaders(this.ours)) {
      this.log.debug('imported CommonJS: other module hooks are in place; import-in-the-middle wraps it');
      return false;
    }
    const loader = nodeModule.Module as unknown as Partial<CjsLoader>;
    const original = loader._load;
    if (typeof original !== 'function' || typeof loader._extensions !== 'object' || loader._extensions === null) return false;
    const pending = this.pending;
    const statics = loader as CjsLoader;
    const log = this.log;
    loader._load = function (this: unknown, request: unknown, parent: unknown) {
      // eslint-disable-next-line prefer-rest-params
      const args = arguments;
      if (parent == null && pending.size !== 0 && typeof request === 'string' && pending.delete(request)) {
        return loadPatched(statics, () => Reflect.apply(original, this, args), request, (line) => log.warn(line));
      }
      return Reflect.apply(original, this, args);
    };
    this.state = 'installed';
    return true;
  }
}
