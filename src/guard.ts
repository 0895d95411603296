import { basename } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { has } from './node-features';

/** Why start() does nothing in this process; undefined means go ahead. */
export type SkipReason = string | undefined;

/** Package managers and build tools inherit NODE_OPTIONS but are not the app. */
const TOOLING = /^(npm-cli|npx-cli|npm|npx|pnpm|pnpx|yarn|yarnpkg|corepack|node-gyp)(\.c?js)?$/;

export function isTooling(argv1: string | undefined): boolean {
  if (argv1 === undefined) return false;
  const base = basename(argv1);
  if (TOOLING.test(base)) return true;
  // npm's and node-gyp's own scripts run from inside their packages.
  return /[\\/]node_modules[\\/](npm|pnpm|yarn|corepack|node-gyp)[\\/]/.test(argv1);
}

export function skipReason(opts: { sdkDisabled: boolean; instrumentTooling: boolean }): SkipReason {
  if (!has('supported')) return `Node ${process.versions.node} is not supported (need >= 22.15); running without instrumentation`;
  if (opts.sdkDisabled) return 'OTEL_SDK_DISABLED=true';
  // Worker threads inherit NODE_OPTIONS; their telemetry belongs to the main thread's SDK.
  if (!isMainThread) return 'worker thread';
  if (!opts.instrumentTooling && isTooling(process.argv[1])) return `tooling process ${process.argv[1] ?? ''}`;
  return undefined;
}

const KEY = Symbol.for('otel-autoinstrument');

interface Slot {
  [KEY]?: unknown;
}

/** One start per process, even across two copies of this package (--require and --import together). */
export function claimSingleton<T>(make: () => T): { first: boolean; value: T } {
  const g = globalThis as Slot;
  if (g[KEY] !== undefined) return { first: false, value: g[KEY] as T };
  const value = make();
  Object.defineProperty(g, KEY, { value, enumerable: false, configurable: false, writable: false });
  return { first: true, value };
}
