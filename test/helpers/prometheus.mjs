// A real Prometheus server (Debian's `prometheus`, installed by .ci/services.sh) on 127.0.0.1,
// scraping the given targets every second, with its data in a temp dir removed on close.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './services.mjs';

export { freePort };

export const PROMETHEUS = '/usr/bin/prometheus';

/** Why the Prometheus tests cannot run here, or undefined when they can. Under CI=true they must. */
export function prometheusMissing() {
  return existsSync(PROMETHEUS) ? undefined : `${PROMETHEUS} not found (bash .ci/services.sh installs it)`;
}

/** `extraArgs`: more command-line flags, e.g. ['--enable-feature=exemplar-storage']. */
export async function startPrometheus(targets, extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'otel-prom-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:', '  - job_name: app', '    static_configs:', `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`, ''].join('\n'),
  );
  const port = await freePort();
  const child = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const base = `http://127.0.0.1:${port}`;
  const api = {
    base,
    stderr: () => stderr,
    /** Instant query; the result vector as [{ metric, value: number }]. */
    async query(q) {
      const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`, { signal: AbortSignal.timeout(3000) });
      const body = await res.json();
      if (body.status !== 'success') throw new Error(`query ${q}: ${JSON.stringify(body)}`);
      return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    /** Polls `q` until `accept(result)` holds or `timeoutMs` passes; returns the last result. */
    async waitFor(q, accept, timeoutMs = 20000) {
      const end = Date.now() + timeoutMs;
      let last = [];
      for (;;) {
        try {
          last = await api.query(q);
          if (accept(last)) return last;
        } catch {
          // not up yet
        }
        if (Date.now() > end) return last;
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async close() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return api;
}

/**
 * Polls `f` (sync or async; a throw counts as not yet) until it returns something truthy or
 * `timeoutMs` passes; returns the last value.
 */
export async function poll(f, timeoutMs = 20000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let v;
    try {
      v = await f();
    } catch {
      v = undefined;
    }
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
