// Spawns a real node process (the same binary running the tests) and collects its output.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const APPS = join(ROOT, 'test', 'fixtures', 'apps');
export const REGISTER = { import: ['--import', 'otel-autoinstrument/register'], require: ['--require', 'otel-autoinstrument/register'] };

/**
 * An app in the empty directory `dir`, as a registry install would lay it out: a package.json
 * named `name` that depends on `plugins` (each copied from test/fixtures/plugins into its
 * node_modules), otel-autoinstrument linked to this repo and, unless `opentelemetry` is false,
 * node_modules/@opentelemetry linked to this repo's (for the plugins' own requires); `files`
 * (name -> contents) written into `dir`. Returns `dir`.
 */
export function pluginApp(dir, { name, plugins = [], files = {}, opentelemetry = true }) {
  const nm = join(dir, 'node_modules');
  mkdirSync(nm, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, dependencies: Object.fromEntries(plugins.map((p) => [p, '*'])) }));
  for (const p of plugins) cpSync(join(ROOT, 'test', 'fixtures', 'plugins', p), join(nm, p), { recursive: true });
  symlinkSync(ROOT, join(nm, 'otel-autoinstrument'), 'dir');
  if (opentelemetry) symlinkSync(join(ROOT, 'node_modules', '@opentelemetry'), join(nm, '@opentelemetry'), 'dir');
  for (const [f, contents] of Object.entries(files)) writeFileSync(join(dir, f), contents);
  return dir;
}

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

/** Apps started by startApp() and not yet killed: a file's after() hook ends what a failure left. */
const running = new Set();

export function killAllApps() {
  return Promise.all([...running].map((a) => a.kill()));
}

/**
 * Starts `node [...nodeArgs] script` for a test to talk to while it runs (a cluster primary, a
 * server): in its own process group, so kill() ends it and every worker it forked; stdin open for
 * commands; stdout kept as complete lines, so polling never re-splits the whole output.
 */
export function startApp(nodeArgs, script, { env = {}, cwd = APPS, args = [] } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], { cwd, env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  const complete = [];
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    stdout += d;
    const parts = (partial + d).split('\n');
    partial = parts.pop();
    complete.push(...parts);
  });
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.on('error', () => undefined);
  const closed = new Promise((r) => child.once('close', r));
  const app = {
    child,
    closed,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    /** The payloads of the lines "prefix ..." (and bare "prefix" lines, as ''). */
    lines: (prefix) => complete.filter((l) => l === prefix || l.startsWith(`${prefix} `)).map((l) => l.slice(prefix.length + 1)),
    /** The first line "prefix ...", waited for at most `timeoutMs`; fails with the output. */
    async line(prefix, timeoutMs = 60000) {
      const end = Date.now() + timeoutMs;
      while (app.lines(prefix).length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
      const got = app.lines(prefix)[0];
      if (got === undefined) throw new Error(`no "${prefix}" line within ${timeoutMs} ms.\nstdout:\n${stdout.slice(-3000)}\nstderr:\n${stderr.slice(-3000)}`);
      return got;
    },
    send: (line) => child.stdin.write(`${line}\n`),
    async kill() {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
      running.delete(app);
    },
  };
  running.add(app);
  return app;
}
