import { lstatSync, mkdirSync, rmdirSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { has } from './node-features';

/**
 * Node's on-disk compile cache (V8 code cache) for the modules loaded after start() decides to
 * instrument this process: the instrumentation packages, @opentelemetry/*, and, Node having no
 * per-package switch, the app's. Not our own bundle, which is loaded before that decision (a
 * package manager's process must not get a cache). Never throws, never writes to stderr: the
 * result is one line for the debug log.
 *
 * OTEL_NODE_COMPILE_CACHE (its row is in src/config/table.ts): unset means a
 * directory of this user's own under the OS temp dir, `none` turns it off, an absolute path is a
 * directory the user chose (a relative one turns it off). NODE_COMPILE_CACHE, when set, is Node's own and wins.
 */
export function enableCompileCache(value: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  try {
    const setting = (value ?? '').trim();
    if (setting === 'none') return 'off (OTEL_NODE_COMPILE_CACHE=none)';
    if (!has('compileCache') || typeof nodeModule.enableCompileCache !== 'function') return `not available on Node ${process.versions.node}`;
    const already = nodeModule.getCompileCacheDir?.();
    if (already !== undefined) return `already on (NODE_COMPILE_CACHE) at ${already}`;
    if (env.NODE_DISABLE_COMPILE_CACHE !== undefined && env.NODE_DISABLE_COMPILE_CACHE !== '') return 'off (NODE_DISABLE_COMPILE_CACHE)';
    // Relative would mean relative to wherever the app happens to run: its own tree, most likely.
    if (setting !== '' && !isAbsolute(setting)) return `off: OTEL_NODE_COMPILE_CACHE=${setting} is not an absolute path`;
    const dir = setting !== '' ? existingDir(setting) : privateDir();
    if (dir === undefined) return setting !== '' ? `off: ${setting} is not a directory this process can write to` : `off: ${join(tmpdir(), dirName())} is not a directory of this user's alone`;
    const r = nodeModule.enableCompileCache(dir);
    const status = Object.entries(nodeModule.constants.compileCacheStatus).find(([, v]) => v === r.status)?.[0] ?? String(r.status);
    return `${status.toLowerCase()} at ${r.directory ?? dir}${r.message !== undefined ? ` (${r.message})` : ''}`;
  } catch (err) {
    return `off (${err instanceof Error ? err.message : String(err)})`;
  }
}

/**
 * The user's directory, made if its parent exists. Node makes a missing one recursively itself,
 * but its recursive mkdir never returns under /proc (Node 22.15 to 24.21, enableCompileCache and
 * fs.mkdirSync alike): one level, by us, fails cleanly there.
 */
function existingDir(dir: string): string | undefined {
  try {
    mkdirSync(dir);
  } catch {
    // it exists (checked below), or cannot be made (the check fails)
  }
  try {
    if (!lstatSync(dir).isDirectory()) return undefined;
    // Node makes its per-version directory in there, with the same endless mkdir where a
    // directory cannot be made (/proc): try one first.
    const probe = join(dir, `.probe-${process.pid}`);
    mkdirSync(probe);
    rmdirSync(probe);
    return dir;
  } catch {
    return undefined;
  }
}

function dirName(): string {
  return `otel-autoinstrument-compile-cache-${process.getuid?.() ?? 'user'}`;
}

/**
 * The temp dir is shared by every user: a cache another user can write could hand us their
 * code. So the directory must be ours, a real directory (not a link), writable by no one else.
 */
function privateDir(): string | undefined {
  const dir = join(tmpdir(), dirName());
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch {
    // it exists (checked below), or cannot be made (the check fails)
  }
  try {
    const st = lstatSync(dir);
    const uid = process.getuid?.();
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}
