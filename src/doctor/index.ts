import { Command } from 'commander';
import { CATALOG } from '../catalog/catalog.generated';
import { effectiveConfig, withDistro } from '../config/effective';
import type { Config } from '../config/parse';
import { errorText } from '../log';
import { useSecrets } from '../config/secrets';
import { redactDeep } from '../redact';
import { loadPlugins } from '../plugins';
import { launcherVersion } from '../report/startup';
import { parseOrExit } from '../cli/parse-args';
import { environmentFindings, endpointFindings, hookFindings, libraryFindings } from './checks';
import { type RunResult, runCommand, runFindings } from './run';
import { finding, type Finding } from './types';

const NAME = 'otel-instrument doctor';
const PROBE_TIMEOUT_MS = 5000;

/** How otel-instrument hands the hook to a command: the child's NODE_OPTIONS and the names the hook goes by. */
export interface HookPlan {
  readonly nodeOptions: string;
  readonly registers: readonly string[];
}

function program(): Command {
  return new Command(NAME)
    .usage('[--json] [--timeout S] [--] [command...]')
    .description(
      'Checks what would stop telemetry from arriving: Node, the configuration (from the environment and OTEL_CONFIG_FILE), ' +
        'each configured OTLP endpoint (probed with the configured protocol and headers), the installed libraries against ' +
        'the instrumentations. With a command, runs it as otel-instrument would for at most --timeout seconds and reports ' +
        'which instrumentations patched what and what was exported.',
    )
    .addHelpText('after', '\nExit status: 1 when a finding would lose telemetry, 0 otherwise, 2 for a usage error. See docs/doctor.md.')
    .argument('[command...]', 'the command to try, e.g. node app.js')
    .passThroughOptions()
    .option('--json', 'print the findings as JSON on stdout')
    .option('--timeout <seconds>', 'stop the command after this many seconds', '5')
    .helpOption('-h, --help', 'show this help')
    .showHelpAfterError()
    .exitOverride();
}

export interface DoctorReport {
  readonly launcher: string;
  readonly node: string;
  /** True when nothing found would lose telemetry (exit code 0). */
  readonly ok: boolean;
  readonly findings: readonly Finding[];
  /** With a command: how it ended and each Node process's startup report (src/report/startup.ts). */
  readonly run?: RunResult;
}

const MARK: Record<Finding['severity'], string> = { error: 'error  ', warning: 'warning', ok: 'ok     ', info: 'info   ' };

export function textReport(r: DoctorReport): string {
  const errors = r.findings.filter((f) => f.severity === 'error').length;
  const warnings = r.findings.filter((f) => f.severity === 'warning').length;
  const head = errors > 0 ? `${errors} problem(s) that lose telemetry, ${warnings} warning(s)` : warnings > 0 ? `no problem that loses telemetry, ${warnings} warning(s)` : 'no problem found';
  const lines = [`otel-autoinstrument ${r.launcher}, Node ${r.node}: ${head}`, ''];
  for (const f of r.findings) {
    lines.push(`${MARK[f.severity]} ${f.id}: ${f.message}`);
    if (f.fix !== undefined && (f.severity === 'error' || f.severity === 'warning')) lines.push(`        fix: ${f.fix}`);
  }
  return `${lines.join('\n')}\n`;
}

function configOf(env: NodeJS.ProcessEnv, findings: Finding[]): Config | undefined {
  const eff = effectiveConfig(env);
  if (!eff.ok) {
    findings.push(finding('error', 'config-file', `configuration file: ${eff.error}; the app would run uninstrumented`, 'fix the file named by OTEL_CONFIG_FILE'));
    return undefined;
  }
  const plugins = loadPlugins(eff.config.values, new Set(CATALOG.map((d) => d.name)), undefined, process.cwd());
  for (const w of [...eff.fileWarnings, ...plugins.warnings]) findings.push(finding('warning', 'config', w));
  const config = withDistro(eff, env, {}, plugins.distro);
  useSecrets(config.values);
  return config;
}

/** `otel-instrument doctor ...`: prints the findings, resolves with the exit code. */
export async function doctor(argv: readonly string[], hook: HookPlan): Promise<number> {
  const p = program();
  const usage = parseOrExit(p, argv);
  if (usage !== undefined) return usage;
  const opts = p.opts<{ json?: boolean; timeout: string }>();
  const seconds = Number(opts.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    process.stderr.write(`${NAME}: --timeout ${opts.timeout} is not a positive number of seconds\n`);
    return 2;
  }
  const command = p.args;
  const env = process.env;
  const cwd = process.cwd();
  const findings: Finding[] = [];
  let run: RunResult | undefined;
  try {
    const config = configOf(env, findings);
    if (config !== undefined) {
      findings.push(...environmentFindings(config), ...hookFindings(env, command, cwd, hook.registers));
      findings.push(...(await endpointFindings(config, PROBE_TIMEOUT_MS)));
      findings.push(...libraryFindings(config, cwd).findings);
      if (command.length > 0) {
        run = await runCommand(command, { ...env, NODE_OPTIONS: hook.nodeOptions }, seconds * 1000);
        const exporting = new Set((['traces', 'metrics', 'logs'] as const).filter((s) => config.values[({ traces: 'OTEL_TRACES_EXPORTER', metrics: 'OTEL_METRICS_EXPORTER', logs: 'OTEL_LOGS_EXPORTER' } as const)[s]].includes('otlp')));
        findings.push(...runFindings(run, exporting));
      }
    }
  } catch (err) {
    findings.push(finding('error', 'doctor-failed', `the doctor itself failed: ${errorText(err)}`));
  }
  // Findings quote endpoints, headers and the command's own report: nothing secret is printed.
  const report: DoctorReport = redactDeep({ launcher: launcherVersion(), node: process.versions.node, ok: !findings.some((f) => f.severity === 'error'), findings, ...(run ? { run } : {}) });
  process.stdout.write(opts.json === true ? `${JSON.stringify(report, null, 2)}\n` : textReport(report));
  return report.ok ? 0 : 1;
}
