// The OTLP/HTTP receiver: POST /v1/traces, /v1/metrics, /v1/logs in http/protobuf or http/json,
// gzip or not. A bad body gets 400, a too-large one 413; neither disturbs anything else.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzip } from 'node:zlib';
import { decodeLogsJson, decodeMetricsJson, decodeTracesJson } from './otlp-json';
import { decodeLogs, decodeMetrics, decodeTraces } from './otlp-proto';
import type { Store } from './store';

/** Largest request body accepted, compressed or not (the SDK's batches are far below it). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const SIGNALS = {
  '/v1/traces': { proto: decodeTraces, json: decodeTracesJson, add: (s: Store, x: unknown[]) => s.addSpans(x as ReturnType<typeof decodeTraces>) },
  '/v1/metrics': { proto: decodeMetrics, json: decodeMetricsJson, add: (s: Store, x: unknown[]) => s.addMetrics(x as ReturnType<typeof decodeMetrics>) },
  '/v1/logs': { proto: decodeLogs, json: decodeLogsJson, add: (s: Store, x: unknown[]) => s.addLogs(x as ReturnType<typeof decodeLogs>) },
} as const;

export function isReceiverPath(path: string): path is keyof typeof SIGNALS {
  return Object.hasOwn(SIGNALS, path);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      reject(new HttpError(413, `body of ${declared} bytes is over the ${limit}-byte limit`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, `body is over the ${limit}-byte limit`));
        chunks.length = 0;
        req.resume();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function inflate(body: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxOutputLength stops a gzip bomb at the limit instead of inflating it into memory.
    gunzip(body, { maxOutputLength: limit }, (err, out) => {
      if (err === null) resolve(out);
      else if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') reject(new HttpError(413, `gzip body inflates past the ${limit}-byte limit`));
      else reject(new HttpError(400, `bad gzip body: ${err.message}`));
    });
  });
}

/** Handles one OTLP export request; answers with an empty Export*ServiceResponse in the request's encoding. */
export async function receive(path: keyof typeof SIGNALS, req: IncomingMessage, res: ServerResponse, store: Store, limit = MAX_BODY_BYTES): Promise<void> {
  const json = (req.headers['content-type'] ?? '').includes('json');
  try {
    if (req.method !== 'POST') throw new HttpError(405, 'OTLP export requests are POSTs');
    let body = await readBody(req, limit);
    const encoding = (req.headers['content-encoding'] ?? '').toLowerCase();
    if (encoding === 'gzip') body = await inflate(body, limit);
    else if (encoding !== '' && encoding !== 'identity') throw new HttpError(415, `content-encoding ${encoding} is not supported (gzip is)`);
    const signal = SIGNALS[path];
    let items: unknown[];
    try {
      items = json ? signal.json(JSON.parse(body.toString('utf8'))) : signal.proto(body);
    } catch (err) {
      throw new HttpError(400, `malformed OTLP ${json ? 'JSON' : 'protobuf'} body: ${(err as Error).message}`);
    }
    signal.add(store, items);
    if (json) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    } else {
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    }
  } catch (err) {
    const status = err instanceof HttpError ? err.status : 500;
    const message = err instanceof Error ? err.message : String(err);
    // OTLP/HTTP answers errors with a google.rpc.Status; its message alone is enough for a local viewer.
    res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ code: status === 413 ? 8 : 3, message }));
  }
}
