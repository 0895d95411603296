// Drives Debian's headless Chromium over the DevTools protocol with Node's built-in WebSocket: no
// browser library. Everything stays on 127.0.0.1; the flags keep Chromium from calling out (its
// background connections are refused on a closed network and slow it down).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function chromiumMissing() {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (install Debian's chromium: .ci/services.sh)`;
  if (typeof WebSocket !== 'function') return 'this Node has no global WebSocket';
  return undefined;
}

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions', '--mute-audio', '--hide-scrollbars', '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0'];

export async function launchChromium({ width = 1280, height = 800 } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'otel-viewer-chromium-'));
  // Its own process group: close() ends the zygote and renderers too, which would otherwise keep
  // the stderr pipe, and so the test process, alive.
  const proc = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, `--window-size=${width},${height}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  const wsUrl = await new Promise((resolve, reject) => {
    proc.stderr.on('data', (d) => {
      stderr += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    proc.once('exit', (code) => reject(new Error(`chromium exited (${code}) before listening:\n${stderr.slice(-2000)}`)));
    proc.once('error', reject);
  });
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error(`cannot connect to ${wsUrl}`)), { once: true });
  });
  let nextId = 1;
  const pending = new Map();
  ws.addEventListener('message', (e) => {
    const msg = JSON.parse(e.data);
    const p = msg.id !== undefined && pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
    else p.resolve(msg.result);
  });
  const send = (method, params = {}, sessionId) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject, method });
      ws.send(JSON.stringify({ id, method, params, sessionId }));
    });

  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const cmd = (method, params) => send(method, params, sessionId);
  await cmd('Page.enable');
  await cmd('Runtime.enable');
  await cmd('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });

  const page = {
    /** The value of a JS expression in the page (awaited if a promise). */
    async eval(expression) {
      const r = await cmd('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
      if (r.exceptionDetails) throw new Error(`${expression}: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
      return r.result.value;
    },
    /** Polls `expression` until it is truthy; fails after `timeoutMs` with `what` and the page's text. */
    async waitFor(expression, what, timeoutMs = 30000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const v = await page.eval(expression).catch(() => undefined);
        if (v) return v;
        if (Date.now() > end) throw new Error(`waited ${timeoutMs} ms for ${what}; the page shows:\n${(await page.eval('document.body.innerText').catch(() => '?')).slice(0, 3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async goto(url) {
      await cmd('Page.navigate', { url });
      await page.waitFor(`location.href === ${JSON.stringify(url)} && document.readyState === 'complete'`, `${url} to load`);
    },
    async screenshot(path) {
      const { data } = await cmd('Page.captureScreenshot', { format: 'png', captureBeyondViewport: false });
      writeFileSync(path, Buffer.from(data, 'base64'));
    },
  };
  return {
    page,
    async close() {
      ws.close();
      const exited = new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', r)));
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
      proc.stderr.destroy();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
