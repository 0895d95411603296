import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ExtraInstrumentation } from '../catalog/extras';
import type { Plugin } from './types';

/**
 * An installed package from the extras table (src/catalog/extras.ts), which has no "otel" field
 * of its own, becomes a plugin as if it had declared one: its entry is what the app's root
 * resolves for the package name, so export conditions and pnpm's links are honoured.
 */
export function extraPlugin(extra: ExtraInstrumentation, pkg: Readonly<Record<string, unknown>>, dir: string, root: string): Plugin {
  const version = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  const origin = `${extra.package}@${version}`;
  const entry = createRequire(join(root, 'package.json')).resolve(extra.package);
  return {
    packageName: extra.package,
    version,
    dir,
    instrumentations: [
      {
        name: extra.name,
        package: extra.package,
        export: extra.export,
        modules: extra.modules,
        globals: [],
        activation: 'module',
        enabledByDefault: true,
        metricsOnly: false,
        entry,
        origin,
        ...(extra.config ? { config: extra.config } : {}),
      },
    ],
    configurators: [],
  };
}
