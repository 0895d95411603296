/**
 * Node version gates, one entry per feature we branch on, each with where the fact comes from.
 * `since` maps a release line to its first version with the feature; a line absent from the map
 * has it if it is newer than every listed line.
 */
type Version = readonly [number, number, number];

interface Gate {
  readonly since: Readonly<Record<number, Version>>;
  readonly source: string;
}

export const GATES = {
  /** engines.node, following upstream OpenTelemetry JS. */
  supported: { since: { 22: [22, 15, 0] }, source: 'https://github.com/open-telemetry/opentelemetry-js#supported-runtimes' },
  /** Synchronous in-thread module hooks, for both require() and import. */
  registerHooks: {
    since: { 22: [22, 15, 0], 23: [23, 5, 0] },
    source: 'https://nodejs.org/api/module.html#moduleregisterhooksoptions',
  },
  /**
   * registerHooks' load hook accepts the nullish CJS source import-in-the-middle returns;
   * before this, its synchronous loader throws ERR_INVALID_RETURN_PROPERTY_VALUE and we use
   * the threaded module.register() loader instead.
   */
  syncEsmHooks: {
    since: { 22: [22, 22, 3], 24: [24, 11, 1], 25: [25, 1, 0] },
    source: 'https://github.com/nodejs/node/pull/59929',
  },
  /** module.enableCompileCache() and module.getCompileCacheDir(): the on-disk V8 code cache. */
  compileCache: {
    since: { 22: [22, 8, 0] },
    source: 'https://nodejs.org/api/module.html#moduleenablecompilecachedirectory',
  },
} as const satisfies Record<string, Gate>;

export function parseVersion(v: string): Version {
  const [a, b, c] = v.replace(/^v/, '').split('.').map((s) => parseInt(s, 10));
  return [a ?? 0, b ?? 0, c ?? 0];
}

function cmp(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export function has(gate: keyof typeof GATES, version: string = process.versions.node): boolean {
  const v = parseVersion(version);
  const since: Readonly<Record<number, Version>> = GATES[gate].since;
  const exact = since[v[0]];
  if (exact) return cmp(v, exact) >= 0;
  const lines = Object.keys(since).map(Number);
  // A line we do not list (23 for syncEsmHooks, say) lacks the feature unless it is newer than all of them.
  return lines.every((l) => v[0] > l);
}
