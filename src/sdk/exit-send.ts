import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { spawnSync } from 'node:child_process';
import { withSdkDiagSilenced } from '../diag';
import type { Logger } from '../log';
import { errorText } from '../log';
import { SpanBatch, joinRequests } from '../otlp/span-batch';
import type { SpanLike } from '../otlp/types';
import { EncodingSpanProcessor } from './encoding-processor';
import type { OtlpSettings } from './exporters';
import { NETWORK } from './otlp-transport';

/** The longest a process.exit() or an uncaught exception may be held to send what is pending. */
const EXIT_SEND_MS = 1500;
/** The sender's exit code when its request got no answer in time. */
const UNANSWERED = 3;

/** What the exit-time send did with `n` spans: a request with no answer may still have arrived. */
export type ExitOutcome = { readonly n: number; readonly outcome: 'delivered' } | { readonly n: number; readonly outcome: 'unknown' } | { readonly n: number; readonly outcome: 'failed'; readonly reason: string };

/**
 * The child that sends at exit: plain node, no hook, no SDK; the body on stdin, the rest in its
 * environment (never on its command line, where other users could read the headers).
 */
const SENDER = `const u=new URL(process.env.OTEL_EXIT_URL);const m=require(u.protocol==='https:'?'node:https':'node:http');const c=[];const end=(code,why)=>{process.stdout.write(why);process.exit(code);};process.stdin.on('data',(d)=>c.push(d)).on('end',()=>{const b=Buffer.concat(c);const r=m.request(u,{method:'POST',headers:{...JSON.parse(process.env.OTEL_EXIT_HEADERS),'content-length':b.length},timeout:Number(process.env.OTEL_EXIT_TIMEOUT)},(res)=>{res.resume();res.on('end',()=>res.statusCode>=200&&res.statusCode<300?end(0,''):end(1,'HTTP '+res.statusCode));});r.on('timeout',()=>end(${UNANSWERED},''));r.on('error',(e)=>end(1,String(e.code||'error')));r.end(b);});`;

/**
 * The spans still waiting in a BatchSpanProcessor's queue. Its private `_finishedSpans`
 * (sdk-trace 3.0 export/BatchSpanProcessorBase), read only once, at exit: the hot path pays
 * nothing (a span processor of our own keeping every ended span cost about 4 µs per span).
 * Test: test/unit/exit-send.test.mjs fails if the field goes.
 */
export function queuedSpans(processor: object): readonly ReadableSpan[] {
  const q = (processor as { _finishedSpans?: unknown })._finishedSpans;
  return Array.isArray(q) ? (q as ReadableSpan[]) : [];
}

/** What is queued in a span processor at exit: upstream's BatchSpanProcessor or ours. */
export function queuedItems(processor: object): readonly (readonly SpanLike[] | SpanBatch)[] {
  if (processor instanceof EncodingSpanProcessor) return processor.queuedItems();
  const spans = queuedSpans(processor);
  return spans.length > 0 ? [spans] : [];
}

/** How many spans `items` holds. */
export function countSpans(items: readonly (readonly SpanLike[] | SpanBatch)[]): number {
  let n = 0;
  for (const i of items) n += i instanceof SpanBatch ? i.count : i.length;
  return n;
}

/**
 * Spans ended but not yet through an export, for the one moment when nothing asynchronous can
 * run any more: process.exit() and uncaught exceptions end the process right after 'exit'.
 * What is left in the batch queue and in exports still being retried is serialized and sent by
 * a short-lived child process, synchronously, for at most EXIT_SEND_MS. Only for OTLP over HTTP
 * without TLS file settings.
 */
export class ExitSend {
  constructor(
    private readonly settings: OtlpSettings,
    /** Spans as objects, or encoded as they ended (SpanBatch, in this exporter's format). */
    private readonly pending: () => readonly (readonly SpanLike[] | SpanBatch)[],
    private readonly log: Logger,
  ) {}

  /** Synchronous. What became of the pending spans, or undefined when there were none. */
  sendNow(): ExitOutcome | undefined {
    const items = this.pending();
    const n = countSpans(items);
    if (n === 0) return undefined;
    const s = this.settings;
    try {
      const json = s.protocol === 'http/json';
      // Asynchronous resource attributes (the container id) not settled by now are left out.
      const body = withSdkDiagSilenced(() => {
        // Spans kept as objects go into one request part, each batch already encoded into its own.
        const objects = items.filter((i): i is readonly SpanLike[] => !(i instanceof SpanBatch)).flat();
        const batches = items.filter((i): i is SpanBatch => i instanceof SpanBatch);
        if (objects.length > 0) batches.unshift(SpanBatch.of(objects, json));
        return joinRequests(batches.map((b) => b.bytes()), json);
      });
      const timeout = Math.min(s.timeoutMillis, EXIT_SEND_MS);
      const res = spawnSync(process.execPath, ['-e', SENDER], {
        input: body,
        timeout: timeout + 500,
        stdio: ['pipe', 'pipe', 'ignore'],
        env: {
          PATH: process.env.PATH ?? '',
          OTEL_SDK_DISABLED: 'true',
          OTEL_EXIT_URL: s.url,
          OTEL_EXIT_HEADERS: JSON.stringify({ ...s.headers, 'content-type': json ? 'application/json' : 'application/x-protobuf' }),
          OTEL_EXIT_TIMEOUT: String(timeout),
        },
      });
      if (res.status === 0) return { n, outcome: 'delivered' };
      // Killed at the deadline, or its own timeout: the request may have reached the backend.
      if (res.status === null || res.status === UNANSWERED) return { n, outcome: 'unknown' };
      const code = String(res.stdout ?? '').slice(0, 60);
      return { n, outcome: 'failed', reason: `sent at exit: ${NETWORK[code] ?? (code || 'failed')}` };
    } catch (err) {
      this.log.debug(`exit send: ${errorText(err)}`);
      return { n, outcome: 'failed', reason: `sent at exit: ${errorText(err)}` };
    }
  }
}

/** Whether spans can be sent at exit with these settings. */
export function canSendAtExit(s: OtlpSettings): boolean {
  return s.protocol !== 'grpc' && s.tls.cert === undefined && s.tls.key === undefined && s.tls.ca === undefined;
}
