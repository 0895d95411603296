import { Command, Option } from 'commander';
import { join } from 'node:path';
import { CATALOG } from '../catalog/catalog.generated';
import { effectiveConfig, withDistro } from '../config/effective';
import { loadPlugins } from '../plugins';
import { useSecrets } from '../config/secrets';
import { redact } from '../redact';
import { TABLE } from '../config/table';
import { GROUP_TITLES } from '../config/types';
import { has } from '../node-features';
import { FLAGS } from './flags';
import { parseOrExit } from './parse-args';
import { withHook } from './node-options';
import { printConfig } from './print-config';
import { runChild } from './run-child';
import { addViewerOptions, runWithViewer, viewerOnly } from '../viewer/cli';

const NAME = 'otel-instrument';

const say = (line: string): void => {
  process.stderr.write(`${NAME}: ${line}\n`);
};

function buildProgram(): Command {
  const program = new Command(NAME)
    .usage('[options] [--] <command> [args...]')
    .description(
      'Runs <command> with OpenTelemetry: every Node process it starts (except package managers) loads ' +
        'otel-autoinstrument/register. Each option sets the OTEL_* variable named beside it and wins over the ' +
        'environment. Both spellings work: --traces-exporter and --traces_exporter.',
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  otel-instrument --service-name shop --traces-exporter console node app.js',
        '  otel-instrument npm start',
        '  otel-instrument -- tsx watch src/server.ts',
        '  otel-instrument --print-config node app.js',
        '  otel-instrument --viewer node app.js      (traces, metrics, logs in a local web page: docs/viewer.md)',
        '  otel-instrument viewer [--viewer-port N]  (only the viewer, for apps started some other way)',
        '  otel-instrument doctor [--json] [--timeout S] [-- node app.js]   (why no telemetry arrives: docs/doctor.md)',
        '',
        'Exit status: the command\'s own, 128+N if signal N ended it, 127 if it was not found, 2 for a usage error.',
      ].join('\n'),
    )
    .argument('[command...]', 'the command to run, e.g. node app.js, npm start, tsx watch src/server.ts')
    .passThroughOptions()
    .option('--print-config', 'print the effective configuration and the hooks, then exit without running anything')
    .helpOption('-h, --help', 'show this help')
    .showHelpAfterError('(run otel-instrument --help for the options)')
    .exitOverride();
  addViewerOptions(program, true);
  for (const f of FLAGS) {
    const spec = TABLE[f.name];
    const def = spec.defaultLabel === '' ? '' : ` (default: ${spec.defaultLabel})`;
    const type = spec.allowed && spec.allowed.length > 12 ? 'list of instrumentation names' : spec.typeLabel;
    program.addOption(new Option(`${f.long} <value>`, `${f.name}: ${type}${def}`).helpGroup(`${GROUP_TITLES[spec.group]}:`));
    if (f.underscore !== f.long) program.addOption(new Option(`${f.underscore} <value>`).hideHelp());
  }
  return program;
}

/** The whole CLI: flags become env, the hook goes into NODE_OPTIONS once, the child's fate is ours. */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'doctor') {
    const hook = hookPlan(process.env.NODE_OPTIONS);
    return (require('../doctor') as typeof import('../doctor')).doctor(argv.slice(1), hook);
  }
  if (argv[0] === 'viewer') return viewerOnly(argv.slice(1));
  const program = buildProgram();
  const usage = parseOrExit(program, argv);
  if (usage !== undefined) return usage;
  const opts = program.opts<Record<string, string | boolean | undefined>>();
  const command = program.args;
  const flagEnv: Record<string, string> = {};
  for (const f of FLAGS) {
    // commander names attributes by camel-casing the flag; the underscore spelling keeps its underscores.
    const v = opts[camel(f.long.slice(2))] ?? opts[f.underscore.slice(2)];
    if (typeof v === 'string') flagEnv[f.name] = v;
  }

  const { nodeOptions } = hookPlan(process.env.NODE_OPTIONS);

  if (opts.printConfig === true) {
    const eff = effectiveConfig(process.env, flagEnv);
    if (!eff.ok) {
      say(`configuration file: ${eff.error}; the command would run uninstrumented`);
      return 1;
    }
    const plugins = loadPlugins(eff.config.values, new Set(CATALOG.map((d) => d.name)), undefined, process.cwd());
    const config = withDistro(eff, process.env, flagEnv, plugins.distro);
    useSecrets(config.values);
    process.stdout.write(redact(printConfig(config, { ...plugins, warnings: [...eff.fileWarnings, ...plugins.warnings] }, process.env, nodeOptions, command)));
    return 0;
  }
  const [cmd, ...args] = command;
  if (cmd === undefined) {
    say('missing the command to run, e.g. otel-instrument node app.js');
    return 2;
  }
  const env = { ...process.env, ...flagEnv, NODE_OPTIONS: nodeOptions };
  if (opts.viewer !== true) return runChild(cmd, args, env, say);
  return runWithViewer(opts, cmd, args, env, say);
}

/** NODE_OPTIONS for the command: the user's, plus our hook once (--import where supported). */
function hookPlan(existing: string | undefined): { nodeOptions: string; registers: string[] } {
  const root = join(__dirname, '..', '..');
  const supported = has('supported');
  const register = join(root, 'register', supported ? 'index.mjs' : 'index.cjs');
  const registers = ['otel-autoinstrument/register', join(root, 'register', 'index.mjs'), join(root, 'register', 'index.cjs')];
  return { nodeOptions: withHook(existing, supported ? '--import' : '--require', register, registers), registers };
}

function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
