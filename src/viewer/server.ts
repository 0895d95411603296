// The viewer: one HTTP server on 127.0.0.1 that is both the OTLP receiver and the page with its API.
// It runs in the otel-instrument process, never in the app.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { api } from './api';
import { isReceiverPath, receive } from './receiver';
import { serveStatic } from './static';
import { DEFAULT_LIMITS, Store, type StoreLimits } from './store';

/** The default port: documented in docs/viewer.md; beside OTLP's 4318 without taking it. */
export const DEFAULT_VIEWER_PORT = 4319;
/** How many ports past the asked one are tried when it is taken. */
const PORT_TRIES = 20;

export interface Viewer {
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  close(): Promise<void>;
}

export interface ViewerOptions extends Partial<StoreLimits> {
  /** 0 for any free port. */
  readonly port?: number;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.removeListener('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.removeListener('error', onError);
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
}

export function hostAllowed(host: string | undefined, port: number): boolean {
  return host === undefined || ['127.0.0.1', 'localhost', '[::1]'].some((h) => host === h || host === `${h}:${port}`);
}

export async function startViewer(options: ViewerOptions = {}): Promise<Viewer> {
  const store = new Store({ maxTraces: options.maxTraces ?? DEFAULT_LIMITS.maxTraces, maxBytes: options.maxBytes ?? DEFAULT_LIMITS.maxBytes });
  const events = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    try {
      // Only this machine's names for the viewer: a page elsewhere that rebinds its own domain to
      // 127.0.0.1 must not read the telemetry through the user's browser.
      if (!hostAllowed(req.headers.host, port)) {
        res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('the viewer answers only to 127.0.0.1 and localhost\n');
        return;
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (isReceiverPath(url.pathname)) {
        void receive(url.pathname, req, res, store);
        return;
      }
      if (url.pathname.startsWith('/api/') && api(url, req, res, store, events)) return;
      serveStatic(url, req, res, store);
    } catch (err) {
      // One bad request (a missing asset, a URL node cannot parse) must not take the viewer down.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`viewer error: ${(err as Error).message}\n`);
    }
  });
  // A client that stalls mid-request must not hold a socket forever.
  server.requestTimeout = 30_000;
  const asked = options.port ?? DEFAULT_VIEWER_PORT;
  let port = -1;
  for (let p = asked; port < 0; p++) {
    try {
      port = await listen(server, p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || asked === 0 || p >= asked + PORT_TRIES || p >= 65535) throw err;
    }
  }
  // Live updates: at most one "changed" message per tick of 250 ms, only when something changed.
  let sent = store.version;
  const tick = setInterval(() => {
    if (store.version === sent || events.size === 0) return;
    sent = store.version;
    for (const res of events) res.write(`data: ${sent}\n\n`);
  }, 250);
  tick.unref();
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    store,
    close: () =>
      new Promise((resolve) => {
        clearInterval(tick);
        for (const res of events) res.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
