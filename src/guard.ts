import { basename } from 'node:path';
import { has } from './node-features';
import { isMainThread } from './thread';

/** Why start() does nothing in this process; undefined means go ahead. */
export type SkipReason = string | undefined;

/**
 * The names a Node process answers to in the process filters: its script's file name without
 * extension ("npm-cli" for .../npm/bin/npm-cli.js) and the package the script lives in ("npm").
 */
export function processNames(argv1: string | undefined): string[] {
  if (argv1 === undefined || argv1 === '') return [];
  const names = [basename(argv1).replace(/\.[cm]?[jt]s$/, '')];
  const m = /[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(argv1);
  if (m?.[1]) names.push(m[1].replace(/\\/g, '/'));
  return names;
}

export interface ProcessFilter {
  include: readonly string[];
  exclude: readonly string[];
}

/** Why this process is filtered out, if it is. A process with no script (node -e, the REPL) is never tooling. */
export function filteredOut(filter: ProcessFilter, argv1: string | undefined): string | undefined {
  const names = processNames(argv1);
  if (filter.include.length > 0) {
    return names.some((n) => filter.include.includes(n)) ? undefined : `process "${names[0] ?? '(no script)'}" is not in OTEL_NODE_INCLUDE_PROCESSES`;
  }
  const hit = names.find((n) => filter.exclude.includes(n));
  return hit === undefined ? undefined : `process "${hit}" is in OTEL_NODE_EXCLUDE_PROCESSES`;
}

/** Where a thread that traces its workers leaves their start data (src/async/protocol.ts). */
export const WORKER_DATA_KEY = 'otel-autoinstrument:async-worker';

/** A worker thread whose parent traces it (OTEL_NODE_ASYNC_WORKER_TRACE_ENABLED): it forwards, it runs no SDK. */
export function tracedWorker(): boolean {
  return !isMainThread() && (require('node:worker_threads') as typeof import('node:worker_threads')).getEnvironmentData(WORKER_DATA_KEY) !== undefined;
}

export function skipReason(opts: { sdkDisabled: boolean; processes: ProcessFilter; tracedWorker?: boolean }): SkipReason {
  if (!has('supported')) return `Node ${process.versions.node} is not supported (need >= 22.15); running without instrumentation`;
  if (opts.sdkDisabled) return 'OTEL_SDK_DISABLED=true';
  // Worker threads inherit NODE_OPTIONS; their telemetry belongs to the main thread's SDK, which
  // a traced worker forwards to.
  if (!isMainThread() && opts.tracedWorker !== true) return 'worker thread';
  return filteredOut(opts.processes, process.argv[1]);
}

export { claimSingleton, startClaimed } from './singleton';
