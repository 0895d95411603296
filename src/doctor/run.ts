import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartupReport } from '../report/startup';
import { finding, type Finding } from './types';

export interface RunResult {
  /** How the command ended: its exit code, or "killed after N s" when the doctor stopped it. */
  readonly ended: string;
  /** One report per Node process of the command that started the hook. */
  readonly reports: readonly StartupReport[];
}

/** Grace between SIGTERM (which flushes, src/shutdown.ts) and SIGKILL. */
const KILL_GRACE_MS = 5000;

/**
 * Runs the command as otel-instrument would, plus OTEL_NODE_DOCTOR_REPORT, for at most
 * `timeoutMs`; its output goes to our stderr so that stdout holds only the doctor's report.
 */
export function runCommand(command: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'otel-doctor-'));
  const file = join(dir, 'report');
  const [cmd, ...args] = command as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...env, OTEL_NODE_DOCTOR_REPORT: file }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => process.stderr.write(d));
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    let killed = false;
    const term = setTimeout(() => {
      killed = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
    }, timeoutMs);
    const finish = (ended: string): void => {
      clearTimeout(term);
      const reports: StartupReport[] = [];
      try {
        for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) reports.push(JSON.parse(readFileSync(join(dir, f), 'utf8')) as StartupReport);
      } catch {
        // a report cut short: the ones read so far
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ ended, reports });
    };
    child.on('error', (err) => finish(`did not start: ${err.message}`));
    child.on('close', (code, signal) => finish(killed ? `stopped by the doctor after ${Math.round(timeoutMs / 1000)} s` : signal !== null ? `ended by ${signal}` : `exited with code ${code ?? 0}`));
  });
}

const ITEMS = { traces: 'spans', metrics: 'metric data points', logs: 'log records' } as const;

/** What the command's processes report: instrumentations applied and skipped, exports. */
export function runFindings(run: RunResult, exporting: ReadonlySet<'traces' | 'metrics' | 'logs'>): Finding[] {
  const out: Finding[] = [finding('info', 'run', `the command ${run.ended}; ${run.reports.length} Node process(es) started the hook`)];
  if (run.reports.length === 0) {
    out.push(finding('error', 'hook-not-loaded', 'no Node process of the command loaded otel-autoinstrument', 'check that the command runs node, and OTEL_NODE_EXCLUDE_PROCESSES / OTEL_NODE_INCLUDE_PROCESSES'));
    return out;
  }
  const seen = new Set<string>();
  const once = (f: Finding): void => {
    const key = `${f.id} ${f.message}`;
    if (!seen.has(key)) out.push(f);
    seen.add(key);
  };
  for (const r of run.reports) {
    for (const name of r.loadedTooEarly)
      once(finding('error', 'loaded-before-hook', `${name} was loaded before otel-autoinstrument started (pid ${r.pid}): code that required it keeps the unpatched module`, 'load the hook first: node --import otel-autoinstrument/register, or make it the first --require'));
    if (r.entry === 'require' && r.main.esm)
      once(finding('warning', 'esm-under-require', `${r.main.path ?? 'the app'} is an ES module and the hook came in with --require`, 'use --import otel-autoinstrument/register for ES module apps'));
    for (const i of r.instrumentations) {
      const mods = i.patched.map((p) => `${p.module}${p.version !== undefined ? `@${p.version}` : ''}`).join(', ');
      if (i.status === 'applied') once(finding('ok', 'applied', `${i.package}@${i.version ?? '?'} patched ${mods}${i.detail !== undefined ? `; ${i.detail}` : ''}`));
      else if (i.status === 'skipped') once(finding('error', 'unsupported-version', `${i.package}@${i.version ?? '?'} loaded but patched nothing: ${i.reason ?? ''}`, 'upgrade the library, or see docs/bootstrap.md for instrumentation versions'));
      else if (i.status === 'failed') once(finding('error', 'instrumentation-failed', `${i.package} failed to load: ${i.reason ?? ''}`));
      else if (i.status === 'waiting' && i.reason !== undefined) once(finding('info', 'covered', `${i.package} ${i.reason}`));
    }
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      const s = r.exports[signal];
      for (const [reason, n] of Object.entries(s.failedBy)) once(finding('error', 'export-failed', `${signal}: ${n} ${ITEMS[signal]} failed to export (${reason})`));
      if (s.unknown > 0) once(finding('warning', 'export-unconfirmed', `${signal}: ${s.unknown} ${ITEMS[signal]} sent with no answer before the process ended: they may or may not have arrived`, 'let the process end on its own, or give the backend time to answer (OTEL_EXPORTER_OTLP_TIMEOUT)'));
      if (s.dropped > 0) once(finding('error', 'export-dropped', `${signal}: ${s.dropped} ${ITEMS[signal]} dropped (queue full)`, 'raise OTEL_BSP_MAX_QUEUE_SIZE / OTEL_BLRP_MAX_QUEUE_SIZE'));
    }
  }
  for (const signal of exporting) {
    const exported = run.reports.reduce((n, r) => n + r.exports[signal].exported, 0);
    if (exported > 0) out.push(finding('ok', 'exported', `${signal}: ${exported} ${ITEMS[signal]} exported`));
    else if (signal === 'traces') out.push(finding('warning', 'nothing-exported', `traces: no span was exported while the command ran`, 'send the app some traffic while it runs (--timeout), or check the findings above'));
  }
  return out;
}
