import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { InstrumentationDescriptor } from '../catalog/types';
import { type Config, describeConfig } from '../config/parse';
import type { LazyInstrumentations, Patched } from '../hooks/lazy-instrumentations';
import { has } from '../node-features';
import { exportStats, type Signal, type SignalStats } from '../sdk/export-stats';

/**
 * - applied: loaded, and its patch ran on at least one module;
 * - skipped: loaded, but the installed version is outside its range (reason says which);
 * - loaded: loaded for its module, nothing patched (yet);
 * - failed: the instrumentation itself did not load (reason);
 * - waiting: its target module has not been loaded by the app, or only by a package whose own
 *   instrumentation covers it (reason says which).
 */
export type InstrumentationStatus = 'applied' | 'skipped' | 'loaded' | 'failed' | 'waiting';

export interface InstrumentationReport {
  readonly name: string;
  readonly package: string;
  readonly status: InstrumentationStatus;
  readonly version?: string;
  readonly patched: readonly Patched[];
  readonly reason?: string;
  /** How it was built, when that is worth saying: for http, who traces incoming requests (src/hooks/http-server.ts). */
  readonly detail?: string;
}

/** What `handle.report()` returns, and what `otel-instrument doctor` reads from the child. */
export interface StartupReport {
  readonly launcher: string;
  readonly node: string;
  readonly pid: number;
  readonly entry: string;
  /** "import"/"require" register hook or start(), and how ES modules are hooked. */
  readonly hooks: { readonly entry: string; readonly esm: 'sync' | 'threaded'; readonly cjs: 'require-in-the-middle' };
  /** The main script and whether Node runs it as an ES module. */
  readonly main: { readonly path: string | undefined; readonly esm: boolean };
  /** Effective configuration, one "NAME=value (source)" line each, secrets redacted. */
  readonly config: readonly string[];
  readonly instrumentations: readonly InstrumentationReport[];
  /** Target packages that were in require.cache before we started. */
  readonly loadedTooEarly: readonly string[];
  readonly exports: Record<Signal, SignalStats>;
}

export function launcherVersion(): string {
  try {
    // A require(), not a read relative to __dirname: the bundle (dist/register.js) lives one
    // level higher than this file's tsc output, and esbuild inlines the package.json.
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Whether Node runs `file` as an ES module: .mjs, or .js under a package.json with "type": "module". */
export function isEsmFile(file: string | undefined): boolean {
  if (file === undefined) return false;
  if (file.endsWith('.mjs') || file.endsWith('.mts')) return true;
  if (!/\.(js|ts)$/.test(file)) return false;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown }).type === 'module';
    } catch {
      if (dirname(dir) === dir) return false;
    }
  }
}

/** The version of `name` the app would load, read from its package.json; undefined when not found. */
function installedVersion(name: string, from: string): string | undefined {
  try {
    const req = createRequire(join(from, 'noop.js'));
    return (JSON.parse(readFileSync(req.resolve(`${name}/package.json`), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

export function describeOne(d: InstrumentationDescriptor, lazy: LazyInstrumentations, appDir: string): InstrumentationReport {
  const base = { name: d.name, package: d.package };
  const state = lazy.states.get(d.name);
  const patched = lazy.patched.get(d.name) ?? [];
  if (state === undefined) {
    const covered = lazy.covered.get(d.name);
    return covered === undefined ? { ...base, status: 'waiting', patched } : { ...base, status: 'waiting', patched, reason: `not loaded: ${covered}` };
  }
  if (state.status === 'failed') return { ...base, status: 'failed', patched, reason: state.error };
  const version = state.instance.instrumentationVersion;
  const detail = lazy.details.get(d.name);
  if (patched.length > 0) return { ...base, status: 'applied', version, patched, ...(detail !== undefined ? { detail } : {}) };
  const semver = require('semver') as typeof import('semver');
  // Loaded only when a report is asked for: the hook's startup stays without the bootstrap code.
  const { unsupportedReason } = require('../bootstrap/match') as typeof import('../bootstrap/match');
  for (const m of d.modules) {
    const installed = installedVersion(m.name, appDir);
    const why = installed === undefined ? undefined : unsupportedReason(m, installed, `${d.package} ${version}`, semver);
    if (why !== undefined) return { ...base, status: 'skipped', version, patched, reason: why };
  }
  return { ...base, status: 'loaded', version, patched, reason: `loaded for "${state.trigger}", nothing patched yet` };
}

/** Where the app's packages are resolved from: its main script's directory. */
export const appDir = (): string => (process.argv[1] !== undefined ? dirname(process.argv[1]) : process.cwd());

export function startupReport(entry: string, config: Config, lazy: LazyInstrumentations, loadedTooEarly: readonly string[]): StartupReport {
  const main = process.argv[1];
  return {
    launcher: launcherVersion(),
    node: process.versions.node,
    pid: process.pid,
    entry,
    hooks: { entry, esm: has('syncEsmHooks') ? 'sync' : 'threaded', cjs: 'require-in-the-middle' },
    main: { path: main, esm: isEsmFile(main) },
    config: describeConfig(config),
    instrumentations: lazy.enabled.map((d) => describeOne(d, lazy, appDir())),
    loadedTooEarly,
    exports: exportStats(),
  };
}

const ENTRY_TEXT: Record<string, string> = { import: '--import register hook', require: '--require register hook', api: 'start()' };

/** The compact block printed at startup (OTEL_LOG_LEVEL=info set explicitly): one line each. */
export function startupLines(r: StartupReport): string[] {
  return [
    `otel-autoinstrument ${r.launcher} on Node ${r.node}, ${ENTRY_TEXT[r.entry] ?? r.entry}; ES modules: import-in-the-middle ${r.hooks.esm === 'sync' ? 'synchronous hooks' : 'threaded loader'}; CommonJS: require-in-the-middle`,
    `config (not defaults): ${r.config.filter((l) => !l.endsWith('(default)')).join('; ') || 'all defaults'}`,
    `instrumentations: ${r.instrumentations.length} waiting for their modules; loaded modules are reported as they load`,
    ...r.loadedTooEarly.map((name) => `skipped ${name}: loaded before the hook`),
  ];
}
