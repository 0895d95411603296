import type { DistroDescriptor } from '../plugins/types';
import { loadConfigFile } from './file';
import { type Config, type DistroDefaults, type Env, parseConfig, type TopLayer } from './parse';

export type Effective = { ok: true; config: Config; file?: DistroDefaults; fileWarnings: readonly string[] } | { ok: false; error: string };

/** The configuration from flags, env and the config file (the distro layer comes later, after discovery). */
export function effectiveConfig(env: Env, flags: Env | TopLayer = {}): Effective {
  const pre = parseConfig(env, flags);
  const path = pre.values.OTEL_CONFIG_FILE ?? pre.values.OTEL_EXPERIMENTAL_CONFIG_FILE;
  if (path === undefined) return { ok: true, config: pre, fileWarnings: [] };
  const r = loadConfigFile(path, env);
  if (!r.ok) return { ok: false, error: r.error };
  const file = { values: r.values, from: path };
  return { ok: true, config: parseConfig(env, flags, undefined, file), file, fileWarnings: r.warnings };
}

/** The same configuration with a distro's defaults under the file and the environment. */
export function withDistro(eff: Extract<Effective, { ok: true }>, env: Env, flags: Env | TopLayer, distro: DistroDescriptor | undefined): Config {
  if (distro === undefined) return eff.config;
  return parseConfig(env, flags, { values: distro.defaults, from: `${distro.packageName}@${distro.version}` }, eff.file);
}
