import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Analysis } from './analyze';
import { BootstrapError } from './errors';
import { installCommand } from './package-manager';
import { toInstall, unresolved } from './report';

export interface PlannedCommand {
  readonly workspace: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Where it runs: the project root (workspaces are chosen by flags). */
  readonly cwd: string;
}

const quote = (s: string): string => (/^[\w@./:=^~<>-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
export const shown = (c: PlannedCommand): string => [c.command, ...c.args].map(quote).join(' ');

/** The package manager commands that add every missing instrumentation, one per workspace. */
export function plan(a: Analysis): PlannedCommand[] {
  const pending = unresolved(a);
  if (pending.length > 0) throw new BootstrapError(`cannot pick versions: ${pending[0]?.reason ?? 'the registry did not answer'}`);
  const out: PlannedCommand[] = [];
  for (const [name, specs] of toInstall(a)) {
    const ws = a.workspaces.find((w) => w.name === name);
    if (ws === undefined) continue;
    const { command, args } = installCommand(a.pm, a.project, ws, specs);
    out.push({ workspace: name, command, args, cwd: a.project.root });
  }
  return out;
}

/** The files a package manager rewrites; restored as they were if it fails. */
function snapshot(a: Analysis): Map<string, string | undefined> {
  const files = [join(a.project.root, 'package.json'), ...a.workspaces.map((w) => join(w.dir, 'package.json'))];
  for (const f of ['package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml', 'yarn.lock']) files.push(join(a.project.root, f));
  return new Map([...new Set(files)].map((f) => [f, existsSync(f) ? readFileSync(f, 'utf8') : undefined]));
}

function restore(saved: Map<string, string | undefined>): void {
  for (const [f, text] of saved) {
    if (text === undefined) continue; // a lockfile it created on failure is left for it to clean
    try {
      if (readFileSync(f, 'utf8') !== text) writeFileSync(f, text);
    } catch {
      // best effort; the package manager's own message already says what happened
    }
  }
}

function run(c: PlannedCommand, env: NodeJS.ProcessEnv): Promise<{ code: number } | { error: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    // Its output goes to our stderr: stdout carries only our results (and --json stays parseable).
    const child = spawn(c.command, [...c.args], { cwd: c.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => process.stderr.write(d));
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('error', (error: NodeJS.ErrnoException) => resolve({ error }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0) }));
  });
}

/**
 * Runs each command, shown first. The first failure stops the rest, puts package.json and the
 * lockfile back as they were, and becomes one line (after the package manager's own output).
 */
export async function runInstall(a: Analysis, commands: readonly PlannedCommand[], env: NodeJS.ProcessEnv, progress: (line: string) => void): Promise<void> {
  for (const c of commands) {
    progress(`running: ${shown(c)}`);
    const saved = snapshot(a);
    const r = await run(c, env);
    if ('error' in r) {
      if (r.error.code === 'ENOENT') throw new BootstrapError(`${c.command} is not installed or not on PATH (this project uses ${a.pm.name}, from ${a.pm.source}); install it (for example with corepack enable) and run again`);
      throw new BootstrapError(`${c.command} could not be started: ${r.error.message}`);
    }
    if (r.code !== 0) {
      restore(saved);
      throw new BootstrapError(`${shown(c)} failed with exit code ${r.code} (its output is above); package.json and the lockfile are as they were`);
    }
  }
}
