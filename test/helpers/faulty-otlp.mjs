// A fault-injecting OTLP/HTTP endpoint on 127.0.0.1: in mode "ok" it proxies every request to a
// real decoder (startReceiver), otherwise it misbehaves the way backends do:
//   refuse      nothing listens on the port (connection refused); "ok" listens again on the same port
//   delay       answers after `delayMs` (then proxies)
//   slow        proxies at once (the data arrives), answers after `delayMs`
//   500         HTTP 500
//   429         HTTP 429 with Retry-After: `retryAfter` seconds
//   reset       reads part of the body, then resets the connection
// set(mode, { times: n }) heals back to "ok" once n more requests have met the fault, so a test
// waits on the fault being met, not on a time.
// The wrong-protocol cases use the receiver's gRPC port (grpcUrl) with an http/* exporter, and
// this endpoint (HTTP/1.1) with the grpc exporter.
import { createServer, request } from 'node:http';
import { startReceiver } from './otlp.mjs';

export async function startFaultyOtlp() {
  const receiver = await startReceiver();
  const target = new URL(receiver.httpUrl);
  let mode = 'ok';
  let delayMs = 30000;
  let retryAfter = 1;
  /** Requests seen, by the mode they met. */
  const seen = {};
  /** With set(mode, { times }): the mode heals to "ok" once that many requests have met it. */
  let healAfter = Infinity;
  const sockets = new Set();
  const server = createServer((req, res) => {
    const m = mode;
    seen[m] = (seen[m] ?? 0) + 1;
    if (m !== 'ok' && seen[m] >= healAfter) {
      mode = 'ok';
      healAfter = Infinity;
    }
    if (m === 'reset') {
      req.once('data', () => req.socket.resetAndDestroy());
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (m === '500') return res.writeHead(500).end('internal error');
      if (m === '429') return res.writeHead(429, { 'retry-after': String(retryAfter) }).end();
      const forward = () => {
        if (res.destroyed) return;
        const out = request({ host: target.hostname, port: target.port, path: req.url, method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '', ...(req.headers['content-encoding'] ? { 'content-encoding': req.headers['content-encoding'] } : {}) } }, (r) => {
          const answer = () => {
            if (res.destroyed) return r.resume();
            res.writeHead(r.statusCode, { 'content-type': r.headers['content-type'] ?? 'application/x-protobuf' });
            r.pipe(res);
          };
          if (m === 'slow') setTimeout(answer, delayMs).unref();
          else answer();
        });
        out.on('error', () => res.destroy());
        out.end(Buffer.concat(chunks));
      };
      if (m === 'delay') setTimeout(forward, delayMs).unref();
      else forward();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const listening = () => server.listening;

  return {
    url: `http://127.0.0.1:${port}`,
    grpcUrl: receiver.grpcUrl,
    receiver,
    seen,
    /** Switches the fault; "refuse" closes the port, any other mode opens it again. */
    async set(next, opts = {}) {
      delayMs = opts.delayMs ?? delayMs;
      retryAfter = opts.retryAfter ?? retryAfter;
      healAfter = next === 'ok' ? Infinity : (seen[next] ?? 0) + (opts.times ?? Infinity);
      mode = next;
      if (next === 'refuse' && listening()) {
        for (const s of sockets) s.destroy();
        await new Promise((r) => server.close(r));
      } else if (next !== 'refuse' && !listening()) {
        await new Promise((r, j) => server.once('error', j).listen(port, '127.0.0.1', r));
      }
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (listening()) await new Promise((r) => server.close(r));
      await receiver.close();
    },
  };
}
