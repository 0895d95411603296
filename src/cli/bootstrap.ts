import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { parseOrExit } from './parse-args';
import { analyze, type Analysis } from '../bootstrap/analyze';
import { BootstrapError } from '../bootstrap/errors';
import { plan, runInstall, shown } from '../bootstrap/install';
import { jsonReport, listText, toInstall, unresolved } from '../bootstrap/report';

const NAME = 'otel-bootstrap';
const ACTIONS = ['list', 'requirements', 'install', 'check'] as const;
type Action = (typeof ACTIONS)[number];

interface Opts {
  action: Action;
  json?: boolean;
  dryRun?: boolean;
  cwd?: string;
  workspace?: string;
  registry?: string;
  timeout: string;
}

function buildProgram(): Command {
  return new Command(NAME)
    .description(
      'Finds the OpenTelemetry instrumentations your app needs, from the versions it really has installed ' +
        '(node_modules, else the lockfile of npm, pnpm or yarn; each workspace separately), and installs the ' +
        'missing ones with your package manager. Instrumentations bundled with otel-autoinstrument need no ' +
        'install: they are listed with their status.',
    )
    .addOption(new Option('-a, --action <action>', 'list: what is installed and what each library gets; requirements: the packages to add, one per line; install: add them with the package manager; check: exit 1 if something is missing').choices(ACTIONS).default('list'))
    .option('--json', 'machine-readable output on stdout (every action)')
    .option('--dry-run', 'install: print the package manager command without running it')
    .option('-C, --cwd <dir>', 'the app directory (default: the current directory)')
    .option('-w, --workspace <name>', 'only this workspace (its name or directory); default: all, or the one you are in')
    .option('--registry <url>', 'the npm registry to read versions from (default: $npm_config_registry, else registry.npmjs.org)')
    .option('--timeout <seconds>', 'how long to wait for the registry', '15')
    .helpOption('-h, --help', 'show this help')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  npx otel-bootstrap                        # list: library, installed version, instrumentation, status',
        '  npx otel-bootstrap --action requirements  # the package specs, one per line, for a Dockerfile',
        '  npx otel-bootstrap --action install --dry-run',
        '  npx otel-bootstrap --action install       # add them with npm, pnpm or yarn',
        '  npx otel-bootstrap --action check         # CI: exit 1 if an instrumentation is missing',
        '  npx otel-bootstrap --workspace web --json',
        '',
        'Exit status: 0 ok; 1 when check finds something to install or a step fails; 2 for a usage error.',
      ].join('\n'),
    )
    .showHelpAfterError('(run otel-bootstrap --help for the options)')
    .exitOverride();
}

const say = (line: string): void => {
  process.stderr.write(`${NAME}: ${line}\n`);
};

/** Parses the flags, runs the action, and returns the exit code; never throws for a user error. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const usage = parseOrExit(program, argv);
  if (usage !== undefined) return usage;
  const o = program.opts<Opts>();
  const seconds = Number(o.timeout);
  if (!(seconds > 0)) {
    say(`--timeout ${o.timeout}: must be a number of seconds above 0`);
    return 2;
  }
  try {
    const a = await analyze({
      cwd: resolve(o.cwd ?? process.cwd()),
      env: process.env,
      timeoutMs: seconds * 1000,
      progress: say,
      ...(o.workspace !== undefined ? { workspace: o.workspace } : {}),
      ...(o.registry !== undefined ? { registry: o.registry } : {}),
    });
    for (const w of a.warnings) say(`warning: ${w}`);
    return await act(o, a);
  } catch (err) {
    if (err instanceof BootstrapError) {
      say(err.message);
      return err.exitCode;
    }
    throw err;
  }
}

async function act(o: Opts, a: Analysis): Promise<number> {
  const out = (s: string): boolean => process.stdout.write(s);
  switch (o.action) {
    case 'list':
      out(o.json ? jsonReport(a, 'list', {}) : listText(a));
      return 0;
    case 'check': {
      const missing = a.rows.filter((r) => r.status === 'missing');
      out(o.json ? jsonReport(a, 'check', { ok: missing.length === 0 }) : listText(a));
      if (missing.length > 0) say(`check failed: ${missing.length} instrumentation${missing.length > 1 ? 's are' : ' is'} available but not installed (${[...new Set(missing.map((r) => r.spec ?? r.instrumentation))].join(', ')}); run otel-bootstrap --action install`);
      return missing.length > 0 ? 1 : 0;
    }
    case 'requirements': {
      const pending = unresolved(a);
      if (pending.length > 0) throw new BootstrapError(`cannot pick versions: ${pending[0]?.reason ?? 'the registry did not answer'}`);
      const specs = [...new Set([...toInstall(a).values()].flat())];
      out(o.json ? jsonReport(a, 'requirements', {}) : specs.map((s) => `${s}\n`).join(''));
      return 0;
    }
    case 'install': {
      const commands = plan(a);
      const listed = commands.map((c) => ({ workspace: c.workspace, command: c.command, args: c.args, cwd: c.cwd }));
      if (commands.length === 0) {
        if (o.json) out(jsonReport(a, 'install', { dryRun: o.dryRun === true, commands: [], installed: [] }));
        else say('nothing to install');
        return 0;
      }
      if (o.dryRun) {
        out(o.json ? jsonReport(a, 'install', { dryRun: true, commands: listed, installed: [] }) : commands.map((c) => `${shown(c)}\n`).join(''));
        return 0;
      }
      await runInstall(a, commands, process.env, say);
      const installed = [...toInstall(a).values()].flat();
      if (o.json) out(jsonReport(a, 'install', { dryRun: false, commands: listed, installed }));
      else out(installed.map((s) => `installed ${s}\n`).join(''));
      return 0;
    }
  }
}
