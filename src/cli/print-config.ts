import { CATALOG } from '../catalog/catalog.generated';
import { instrumentationOptions } from '../config/instrumentation-options';
import { type Config, describeConfig, type Env } from '../config/parse';
import { has } from '../node-features';
import type { Plugins } from '../plugins';
import { runtimePlan } from '../runtime/plan';
import { selectInstrumentations, unknownInstrumentationNames } from '../selection';

/** What --print-config shows: the effective config, the plugins, the hook, and what would load when. */
export function printConfig(config: Config, plugins: Plugins, env: Env, hook: string, command: readonly string[]): string {
  const lines = ['# effective configuration (source in parentheses; secrets redacted)', ...describeConfig(config)];
  const known = [...CATALOG, ...plugins.instrumentations];
  const options = instrumentationOptions(env, known);
  if (options.applied.length > 0) lines.push('', '# instrumentation options', ...options.applied);
  const warnings = [...config.warnings, ...plugins.warnings, ...unknownInstrumentationNames(config.values, known), ...options.warnings];
  if (warnings.length > 0) lines.push('', '# warnings', ...warnings);
  const found = plugins.discovery.plugins;
  lines.push('', `# plugins (${found.length}, from the dependencies of ${plugins.discovery.root ?? 'no package.json'})`);
  for (const p of found) {
    const parts = [
      ...p.instrumentations.map((d) => `instrumentation ${d.name} (${d.modules.map((m) => `${m.name}@${m.versions.join('||')}`).join(', ')})`),
      ...p.configurators.map((c) => `configurator ${c.name}`),
      ...(p.distro ? [`distro ${p.distro.name}${plugins.distro === p.distro ? ' (active)' : ''}`] : []),
    ];
    lines.push(`${p.packageName}@${p.version}: ${parts.join(', ') || 'nothing usable'}`);
  }
  lines.push('', '# module hooks', `NODE_OPTIONS gets: ${hook}`);
  lines.push(
    has('syncEsmHooks')
      ? 'ES modules: import-in-the-middle synchronous hooks (module.registerHooks), in-thread'
      : has('supported')
        ? 'ES modules: import-in-the-middle threaded loader (module.register): this Node lacks nodejs/node#59929'
        : `Node ${process.versions.node} is not supported (need >= 22.15): nothing would be instrumented`,
  );
  if (has('syncEsmHooks')) {
    lines.push(
      config.values.OTEL_NODE_IMPORTED_COMMONJS === 'wrap'
        ? 'CommonJS packages that ES modules import: wrapped by import-in-the-middle (OTEL_NODE_IMPORTED_COMMONJS=wrap)'
        : 'CommonJS packages that ES modules import: patched by require-in-the-middle at their load, where it is sure to apply; else import-in-the-middle (OTEL_NODE_IMPORTED_COMMONJS=require)',
    );
  }
  lines.push('CommonJS: require-in-the-middle, primed before the app loads');
  const runtime = runtimePlan(config);
  const selected = selectInstrumentations(config.values, known, runtime.upstream);
  lines.push('', `# instrumentations (${selected.length} of ${known.length}), each loaded on first use of its target`);
  for (const d of selected) {
    const when = d.activation === 'module' ? [...d.modules.map((m) => m.name), ...d.globals.map((g) => `globalThis.${g}`)].join(', ') : `(${d.activation})`;
    lines.push(`${d.name.padEnd(18)} ${when}`);
  }
  const groups = [...runtime.groups, ...runtime.extras];
  lines.push('', '# runtime metrics', groups.length > 0 ? `${groups.join(', ')}; event loop sampled every ${runtime.resolutionMs} ms, windows of ${runtime.windowMs} ms` : runtime.upstream ? 'upstream runtime-node' : 'off');
  if (command.length > 0) lines.push('', `# would run: ${command.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
