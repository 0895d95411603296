// The page: static files from assets/viewer/, shipped in the package and served from memory; no
// CDN, nothing fetched from the network. Page paths (/, /traces/:id, /metrics, /logs) all get
// index.html; the script reads the path. An unknown trace's page is a 404.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Store } from './store';

const DIR = join(__dirname, '..', '..', 'assets', 'viewer');
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
const ASSETS = ['index.html', 'app.js', 'app.css', 'favicon.svg'];
const PAGES = new Set(['/', '/traces', '/metrics', '/logs']);

const cache = new Map<string, Buffer>();
function asset(name: string): Buffer {
  let b = cache.get(name);
  if (b === undefined) {
    b = readFileSync(join(DIR, name));
    cache.set(name, b);
  }
  return b;
}

function file(res: ServerResponse, status: number, name: string, head: boolean): void {
  const body = asset(name);
  res.writeHead(status, {
    'content-type': TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': 'no-cache',
    // The page loads only its own files: nothing reaches past the viewer.
    'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
  });
  res.end(head ? undefined : body);
}

export function serveStatic(url: URL, req: IncomingMessage, res: ServerResponse, store: Store): void {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const p = url.pathname;
  if (p.startsWith('/assets/') && ASSETS.includes(p.slice(8))) return file(res, 200, p.slice(8), head);
  if (p === '/favicon.ico') return file(res, 200, 'favicon.svg', head);
  if (PAGES.has(p)) return file(res, 200, 'index.html', head);
  const m = /^\/traces\/([0-9a-fA-F]{1,64})$/.exec(p);
  if (m) return file(res, store.trace(m[1]!) === undefined ? 404 : 200, 'index.html', head);
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(head ? undefined : `not found: ${p}\n`);
}
