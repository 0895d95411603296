import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const VERSION_RE = /^(\d+)\.(\d+)\.(\d+)(-(.+))?$/;

/**
 * Whether an @opentelemetry/api copy at `reader` sees globals registered by one at `registered`.
 * Mirrors the rule of the API's own isCompatible (src/internal/semver.ts of @opentelemetry/api
 * 1.10, not exported): exact match; else no prerelease on either side, the same major (the
 * global's Symbol.for key holds the major), and the reader's minor at most the registered one's
 * (for 0.x: same minor, the reader's patch at most the registered one's).
 */
export function canSee(reader: string, registered: string): boolean {
  if (reader === registered) return true;
  const r = VERSION_RE.exec(reader);
  const g = VERSION_RE.exec(registered);
  if (!r || !g || r[4] !== undefined || g[4] !== undefined) return false;
  const [rMaj, rMin, rPatch] = [Number(r[1]), Number(r[2]), Number(r[3])];
  const [gMaj, gMin, gPatch] = [Number(g[1]), Number(g[2]), Number(g[3])];
  if (rMaj !== gMaj) return false;
  if (rMaj === 0) return rMin === gMin && rPatch <= gPatch;
  return rMin <= gMin;
}

/** The root directory and version of the @opentelemetry/api copy that `from` resolves, if any. */
export function apiCopy(from: string): { root: string; version: string } | undefined {
  let entry: string;
  try {
    entry = require.resolve('@opentelemetry/api', { paths: [from] });
  } catch {
    return undefined;
  }
  // Its package.json is not in its exports map: walk up from the entry file.
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const pj = join(dir, 'package.json');
    if (!existsSync(pj)) continue;
    try {
      const p = JSON.parse(readFileSync(pj, 'utf8')) as { name?: unknown; version?: unknown };
      if (p.name === '@opentelemetry/api' && typeof p.version === 'string') return { root: dir, version: p.version };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * One warning when the app's own @opentelemetry/api cannot see the SDK we register: its manual
 * spans, metrics and logs would silently be no-ops. Another copy that can see it (same major,
 * minor not newer) is fine: the API shares its globals across copies through Symbol.for.
 */
export function apiCopyWarning(appDir: string, ours: { root: string; version: string } | undefined): string | undefined {
  if (ours === undefined) return undefined;
  const app = apiCopy(appDir);
  if (app === undefined || app.root === ours.root || canSee(app.version, ours.version)) return undefined;
  return (
    `the app's @opentelemetry/api ${app.version} (${app.root}) cannot use the SDK registered through ours ` +
    `(${ours.version}, ${ours.root}): its manual spans, metrics and logs will be no-ops; ` +
    `use one it can share: the same major, no newer than ${ours.version.replace(/^(\d+\.\d+)\..*$/, '$1')}.x (npm install @opentelemetry/api@${ours.version})`
  );
}
