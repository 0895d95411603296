// Spawns a real node process (the same binary running the tests) and collects its output.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const APPS = join(ROOT, 'test', 'fixtures', 'apps');
export const REGISTER = { import: ['--import', 'otel-autoinstrument/register'], require: ['--require', 'otel-autoinstrument/register'] };

/** Env for a child: no OTEL_* or NODE_OPTIONS leak in from the test runner's environment. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('OTEL_') && k !== 'NODE_OPTIONS' && !k.startsWith('NODE_TEST')) env[k] = v;
  return { ...env, ...extra };
}

/**
 * Runs `cmd [...args]` with a clean environment plus `env`, and resolves with its exit code, signal,
 * output and pid; killed after `timeoutMs`. A command that cannot be started resolves with code
 * -1 and the error in stderr.
 */
export function runCommand(cmd, args, { env = {}, timeoutMs = 30000, cwd = APPS, onStdout } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, signal: null, stdout, stderr: `${stderr}${err.message}`, pid: child.pid });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid: child.pid });
    });
  });
}

/**
 * Runs `node [...nodeArgs] script [...args]` (the Node running the tests) with cwd =
 * test/fixtures/apps (whose node_modules links this package) by default.
 */
export function runNode(nodeArgs, script, { args = [], ...options } = {}) {
  return runCommand(process.execPath, [...nodeArgs, script, ...args], options);
}
