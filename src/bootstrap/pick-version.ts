import { isObject, type Json } from './tree';

type Semver = typeof import('semver');

/**
 * Packages an instrumentation must share with us, or it would get a second copy: the API (its
 * global registry refuses a copy newer than the registered one, leaving the instrumentation
 * with no-op tracers) and the SDK packages whose objects we hand it.
 */
const MUST_SHARE = /^@opentelemetry\/(api|api-logs|context-async-hooks|resources|sdk-[a-z-]+)$/;
/** Packages an instrumentation may bring its own copy of; worth a note, not a refusal. */
const MAY_DUPLICATE = /^@opentelemetry\/(instrumentation|core|semantic-conventions)$/;

export type Picked = { readonly ok: true; readonly version: string; readonly notes: readonly string[] } | { readonly ok: false; readonly reason: string };

export interface PickOptions {
  /** Installed versions of our own @opentelemetry/* packages, by name. */
  readonly ours: Readonly<Record<string, string>>;
  /** The instrumentation's major must be this one (Prisma's lockstep releases). */
  readonly major?: { readonly of: string; readonly value: number };
}

function deps(meta: Json): [string, string][] {
  const out: [string, string][] = [];
  for (const key of ['peerDependencies', 'dependencies']) {
    const d = meta[key];
    if (isObject(d)) for (const [n, r] of Object.entries(d)) if (typeof r === 'string') out.push([n, r]);
  }
  return out;
}

/** Why `meta` (one version's metadata) cannot share our API and SDK; empty when it can. */
export function conflicts(meta: Json, ours: Readonly<Record<string, string>>, semver: Semver): string[] {
  const out: string[] = [];
  for (const [dep, range] of deps(meta)) {
    const mine = ours[dep];
    if (!MUST_SHARE.test(dep) || mine === undefined) continue;
    if (!semver.satisfies(mine, range)) out.push(`${dep} ${range} (otel-autoinstrument has ${mine})`);
  }
  return out;
}

/**
 * The newest release (no prerelease, not deprecated) whose API and SDK ranges accept the
 * versions we ship; with `major`, only releases of that major.
 */
export function pickVersion(pkg: string, packument: Json, o: PickOptions): Picked {
  const semver = require('semver') as Semver;
  const versions = isObject(packument.versions) ? packument.versions : {};
  const candidates = Object.keys(versions)
    .filter((v) => semver.valid(v) !== null && semver.prerelease(v) === null)
    .filter((v) => {
      const m = versions[v];
      return isObject(m) && m.deprecated === undefined;
    })
    .filter((v) => o.major === undefined || semver.major(v) === o.major.value)
    .sort((a, b) => semver.rcompare(a, b));
  if (candidates.length === 0) {
    return { ok: false, reason: o.major ? `${pkg} has no release for ${o.major.of} ${o.major.value}.x (it follows ${o.major.of}'s major version)` : `${pkg} has no release on the registry` };
  }
  for (const v of candidates) {
    const meta = versions[v] as Json;
    if (conflicts(meta, o.ours, semver).length > 0) continue;
    const notes: string[] = [];
    for (const [dep, range] of deps(meta)) {
      const mine = o.ours[dep];
      if (MAY_DUPLICATE.test(dep) && mine !== undefined && !semver.satisfies(mine, range)) notes.push(`brings its own ${dep} ${range} (otel-autoinstrument has ${mine})`);
    }
    return { ok: true, version: v, notes };
  }
  const newest = candidates[0] as string;
  return { ok: false, reason: `no release of ${pkg} works with the OpenTelemetry API and SDK that otel-autoinstrument uses: the newest, ${newest}, needs ${conflicts(versions[newest] as Json, o.ours, semver).join(', ')}` };
}
