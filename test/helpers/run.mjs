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
 * Runs `node [...nodeArgs] script [...args]` with cwd = test/fixtures/apps (whose node_modules
 * links this package) and resolves with its exit code, signal and output. Killed after `timeoutMs`.
 */
export function runNode(nodeArgs, script, { env = {}, args = [], timeoutMs = 30000, cwd = APPS, onStdout } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid: child.pid });
    });
  });
}
