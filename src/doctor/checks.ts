import { CATALOG } from '../catalog/catalog.generated';
import type { Config, Env } from '../config/parse';
import { hasNodeModules, readInstalled } from '../bootstrap/installed';
import { match, type Row } from '../bootstrap/match';
import { readProject, type Workspace } from '../bootstrap/project';
import { splitNodeOptions } from '../cli/node-options';
import { errorText } from '../log';
import { has } from '../node-features';
import { loadPlugins } from '../plugins';
import { otlpSettings, type Signal } from '../sdk/exporters';
import { selectInstrumentations } from '../selection';
import { isEsmFile } from '../report/startup';
import { probe } from './probe';
import { finding, type Finding } from './types';

const SIGNALS: readonly Signal[] = ['traces', 'metrics', 'logs'];
const EXPORTER_VAR = { traces: 'OTEL_TRACES_EXPORTER', metrics: 'OTEL_METRICS_EXPORTER', logs: 'OTEL_LOGS_EXPORTER' } as const;

export function environmentFindings(config: Config): Finding[] {
  const out: Finding[] = [];
  const v = config.values;
  if (!has('supported')) out.push(finding('error', 'node-unsupported', `Node ${process.versions.node} is not supported (need >= 22.15): nothing is instrumented`, 'upgrade Node'));
  else out.push(finding('ok', 'node', `Node ${process.versions.node}; ES modules hooked by import-in-the-middle ${has('syncEsmHooks') ? 'synchronous hooks' : 'threaded loader'}`));
  for (const w of config.warnings) out.push(finding('warning', 'config', w));
  if (v.OTEL_SDK_DISABLED) out.push(finding('error', 'sdk-disabled', 'OTEL_SDK_DISABLED=true: nothing is instrumented or exported', 'unset OTEL_SDK_DISABLED'));
  const off = SIGNALS.filter((s) => v[EXPORTER_VAR[s]].includes('none') || v[EXPORTER_VAR[s]].length === 0);
  if (off.length === SIGNALS.length) out.push(finding('warning', 'exporters-none', 'every signal\'s exporter is "none": nothing is exported'));
  else if (off.length > 0) out.push(finding('info', 'exporters', `not exported: ${off.join(', ')} (exporter "none")`));
  return out;
}

/** The script `node` would run in `command` (node [flags] script ...), if it is one we can name. */
export function scriptOf(command: readonly string[], cwd: string): string | undefined {
  const [cmd, ...rest] = command;
  if (cmd === undefined || !/(^|[\\/])node(\.exe)?$/.test(cmd)) return undefined;
  const withValue = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions']);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (withValue.has(a)) i++;
    else if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') return undefined;
    else if (!a.startsWith('-')) return require('node:path').resolve(cwd, a) as string;
  }
  return undefined;
}

/** The hook given with --require to an ES module app: works here, but --import is the path meant for it. */
export function hookFindings(env: Env, command: readonly string[], cwd: string, registers: readonly string[]): Finding[] {
  const t = splitNodeOptions(env.NODE_OPTIONS ?? '');
  const viaRequire = t.some((tok, i) => (tok === '--require' || tok === '-r') && registers.includes(t[i + 1] ?? '')) || t.some((tok) => /^(--require|-r)=/.test(tok) && registers.includes(tok.replace(/^[^=]+=/, '')));
  const script = scriptOf(command, cwd);
  if (viaRequire && script !== undefined && isEsmFile(script))
    return [finding('warning', 'esm-under-require', `NODE_OPTIONS loads the hook with --require, and ${script} is an ES module`, 'use --import otel-autoinstrument/register for ES module apps (with --require, ES modules are hooked only as far as this Node\'s module.register/registerHooks allow from a preload)')];
  return [];
}

/** Every OTLP endpoint the configuration exports to, probed once each with the configured protocol. */
export async function endpointFindings(config: Config, timeoutMs: number): Promise<Finding[]> {
  const seen = new Map<string, Promise<Finding>>();
  const out: Promise<Finding>[] = [];
  for (const signal of SIGNALS) {
    if (!config.values[EXPORTER_VAR[signal]].includes('otlp')) continue;
    const s = otlpSettings(config, signal);
    // One probe per URL and protocol; gRPC endpoints differ per signal only by method.
    const key = `${s.protocol} ${s.url} ${JSON.stringify(s.headers)}${s.protocol === 'grpc' ? ` ${signal}` : ''}`;
    if (!seen.has(key)) {
      const p = probe(signal, s, Math.min(s.timeoutMillis, timeoutMs)).catch((err: unknown) => finding('error', 'endpoint-unreachable', `${signal} ${s.url}: ${errorText(err)}`));
      seen.set(key, p);
      out.push(p);
    }
  }
  return Promise.all(out);
}

export interface LibraryCheck {
  readonly findings: Finding[];
  readonly rows: readonly Row[];
}

/**
 * Installed libraries against the instrumentations the hook would load (otel-bootstrap's
 * matching, read from node_modules only: the doctor never asks a registry).
 */
export function libraryFindings(config: Config, cwd: string): LibraryCheck {
  let project: ReturnType<typeof readProject>;
  try {
    project = readProject(cwd);
  } catch (err) {
    return { findings: [finding('info', 'libraries', `installed libraries not checked: ${errorText(err)}`)], rows: [] };
  }
  const ws = (project.focus ?? project.workspaces[0]) as Workspace;
  if (!hasNodeModules(ws, project.root)) return { findings: [finding('info', 'libraries', `installed libraries not checked: no node_modules in ${project.root}`)], rows: [] };
  const values = config.values;
  const found = loadPlugins(values, new Set(CATALOG.map((d) => d.name)), undefined, ws.dir);
  const selected = new Set(selectInstrumentations(values, [...CATALOG, ...found.instrumentations]).map((d) => d.name));
  const own = found.discovery.plugins.filter((p) => p.instrumentations.length > 0);
  const rows = match({ workspace: ws.name, tree: readInstalled(ws), plugins: own, pluginInstrumentations: found.instrumentations, values, selected }).filter((r) => r.source !== 'installable' || r.status === 'missing');
  const findings: Finding[] = [];
  for (const r of rows) {
    const lib = `${r.library}@${r.version}`;
    if (r.status === 'unsupported') findings.push(finding('error', 'unsupported-version', `${lib}: ${r.reason ?? 'outside the supported range'}; it will not be traced`, `upgrade ${r.library}, or see docs/bootstrap.md for instrumentation versions`));
    else if (r.status === 'active') findings.push(finding('ok', 'library', `${lib} -> ${r.instrumentation}${r.instrumentationVersion ? `@${r.instrumentationVersion}` : ''}`));
    else if (r.status === 'disabled') findings.push(finding('info', 'library-disabled', `${lib}: ${r.instrumentation} is off: ${r.reason ?? ''}`));
    else if (r.status === 'missing' && r.direct) findings.push(finding('info', 'library-missing', `${lib}: ${r.instrumentation} is not installed (npx otel-bootstrap install adds it)`));
  }
  return { findings, rows };
}
