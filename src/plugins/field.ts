import { realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { InstrumentationDescriptor, TargetModule } from '../catalog/types';
import type { ConfiguratorDescriptor, DistroDescriptor, Plugin } from './types';

export const SCHEMA_VERSION = 1;
const NAME = /^[a-z0-9][a-z0-9._-]*$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Thrown for one bad piece of a field; the message is what the user reads after "name@version: ". */
class FieldError extends Error {}

function str(o: Json, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new FieldError(`${where}.${key} must be a non-empty string`);
  return v;
}

function shortName(o: Json, where: string): string {
  const n = str(o, 'name', where);
  if (!NAME.test(n)) throw new FieldError(`${where}.name "${n}" must match ${NAME.source}`);
  return n;
}

/**
 * An entry must name a file inside its own package: relative, no "..", and its real path (after
 * symlinks) still under the package's real path.
 */
export function entryInside(dir: string, entry: string, where: string): string {
  if (isAbsolute(entry) || entry.split(/[\\/]/).includes('..')) throw new FieldError(`${where}.entry "${entry}" leaves the package`);
  let real: string;
  let root: string;
  try {
    root = realpathSync(dir);
    real = realpathSync(join(dir, entry));
  } catch {
    throw new FieldError(`${where}.entry "${entry}" does not exist`);
  }
  const rel = relative(root, real);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep)[0] === '..') throw new FieldError(`${where}.entry "${entry}" leads outside the package`);
  return real;
}

/** "pg@>=8 <9", "@scope/lib@^2" -> { name, versions } with the range checked by `validRange`. */
export function parseInstruments(spec: string, validRange: (r: string) => boolean, where: string): TargetModule {
  const at = spec.indexOf('@', spec.startsWith('@') ? 1 : 0);
  const name = at > 0 ? spec.slice(0, at) : '';
  const range = at > 0 ? spec.slice(at + 1).trim() : '';
  if (name === '' || range === '') throw new FieldError(`${where} "${spec}" must be "<module>@<semver range>"`);
  if (!validRange(range)) throw new FieldError(`${where} "${spec}" has an invalid version range`);
  return { name, versions: [range] };
}

export interface FieldResult {
  plugin?: Plugin;
  /** Other plugin packages this one asks us to read, resolved from its directory. */
  more: string[];
  warnings: string[];
}

/** Validates one package's "otel" field; each bad piece is dropped with one warning, the rest kept. */
export function readField(pkg: Json, dir: string, validRange: (r: string) => boolean): FieldResult {
  const packageName = typeof pkg.name === 'string' ? pkg.name : '(unnamed)';
  const version = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  const origin = `${packageName}@${version}`;
  const warnings: string[] = [];
  const field = pkg.otel;
  const more: string[] = [];
  if (!isObject(field)) return { warnings: [`plugin ${origin}: "otel" must be an object; ignored`], more };
  if (field.schemaVersion !== SCHEMA_VERSION) {
    return { warnings: [`plugin ${origin}: "otel".schemaVersion ${JSON.stringify(field.schemaVersion)} is not ${SCHEMA_VERSION} (the version this otel-autoinstrument reads); ignored`], more };
  }
  const list = (key: string): unknown[] => {
    const v = field[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      warnings.push(`plugin ${origin}: "otel".${key} must be an array; ignored`);
      return [];
    }
    return v;
  };
  const instrumentations: InstrumentationDescriptor[] = [];
  list('instrumentations').forEach((raw, i) => {
    const where = `"otel".instrumentations[${i}]`;
    try {
      if (!isObject(raw)) throw new FieldError(`${where} must be an object`);
      const name = shortName(raw, where);
      const entry = entryInside(dir, str(raw, 'entry', where), where);
      const exp = str(raw, 'export', where);
      const specs = raw.instruments;
      if (!Array.isArray(specs) || specs.length === 0 || !specs.every((x) => typeof x === 'string')) throw new FieldError(`${where}.instruments must be a non-empty array of strings`);
      const modules = (specs as string[]).map((sp) => parseInstruments(sp, validRange, `${where}.instruments`));
      instrumentations.push({ name, package: packageName, export: exp, modules, globals: [], activation: 'module', enabledByDefault: true, metricsOnly: false, entry, origin });
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      warnings.push(`plugin ${origin}: ${err.message}; that instrumentation is skipped`);
    }
  });
  const configurators: ConfiguratorDescriptor[] = [];
  list('configurators').forEach((raw, i) => {
    const where = `"otel".configurators[${i}]`;
    try {
      if (!isObject(raw)) throw new FieldError(`${where} must be an object`);
      const name = shortName(raw, where);
      const entry = entryInside(dir, str(raw, 'entry', where), where);
      const exp = raw.export === undefined ? 'configure' : str(raw, 'export', where);
      configurators.push({ name, entry, export: exp, origin, packageName });
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      warnings.push(`plugin ${origin}: ${err.message}; that configurator is skipped`);
    }
  });
  let distro: DistroDescriptor | undefined;
  if (field.distro !== undefined) {
    try {
      if (!isObject(field.distro)) throw new FieldError('"otel".distro must be an object');
      const name = shortName(field.distro, '"otel".distro');
      const d = field.distro.defaults ?? {};
      if (!isObject(d) || !Object.values(d).every((x) => typeof x === 'string')) throw new FieldError('"otel".distro.defaults must map variable names to strings');
      distro = { name, packageName, version, defaults: d as Record<string, string> };
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      warnings.push(`plugin ${origin}: ${err.message}; the distro is skipped`);
    }
  }
  for (const p of list('plugins')) {
    if (typeof p === 'string' && p !== '') more.push(p);
    else warnings.push(`plugin ${origin}: "otel".plugins must list package names; ${JSON.stringify(p)} ignored`);
  }
  const plugin: Plugin = { packageName, version, dir, instrumentations, configurators, ...(distro ? { distro } : {}) };
  return { plugin, more, warnings };
}
