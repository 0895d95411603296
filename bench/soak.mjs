// Soak: an instrumented HTTP app under steady load for SOAK_SECONDS (default 600) while the
// OTLP backend flaps every FLAP_SECONDS (default 20) between healthy and one fault after another
// (refuse, 500, 429 with Retry-After, reset, 30 s delay). Reports RSS over time and spans lost
// vs sent. Not part of the test run: `npm run bench:soak` (SOAK_SECONDS=60 for a short one).
import { startFaultyOtlp } from '../test/helpers/faulty-otlp.mjs';
import { REGISTER, runNode } from '../test/helpers/run.mjs';

const seconds = Number(process.env.SOAK_SECONDS ?? 600);
const flap = Number(process.env.FLAP_SECONDS ?? 20);
const rps = Number(process.env.SOAK_RPS ?? 100);
const FAULTS = ['refuse', '500', '429', 'reset', 'delay'];

const otlp = await startFaultyOtlp();
let i = 0;
const timeline = [];
const flapper = setInterval(async () => {
  const healthy = i % 2 === 1;
  const mode = healthy ? 'ok' : FAULTS[(i / 2) % FAULTS.length];
  i++;
  timeline.push(mode);
  await otlp.set(mode, { delayMs: 30000, retryAfter: 2 });
}, flap * 1000);
await otlp.set('ok');

const t0 = Date.now();
const res = await runNode(REGISTER.require, 'load-app.cjs', {
  timeoutMs: (seconds + 60) * 1000,
  env: { OTEL_SERVICE_NAME: 'soak', OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, LOAD_SECONDS: String(seconds), LOAD_RPS: String(rps), LOAD_RSS_EVERY: String(Math.max(5, Math.round(seconds / 20))) },
});
clearInterval(flapper);
await otlp.set('ok');
await new Promise((r) => setTimeout(r, 2000));

const requests = Number(/requests=(\d+)/.exec(res.stdout)?.[1] ?? 0);
const bad = Number(/bad=(\d+)/.exec(res.stdout)?.[1] ?? -1);
const spans = otlp.receiver.spans().filter((s) => s.resource['service.name'] === 'soak');
const sent = requests * 2; // one server and one client span per request
console.log(`soak: ${seconds} s at ${rps} req/s, backend flapping every ${flap} s (${timeline.join(' ')}), ${Math.round((Date.now() - t0) / 1000)} s wall`);
console.log(`app: exit ${res.code}, ${requests} requests, ${bad} bad answers`);
console.log('RSS over time (MB):', [...res.stdout.matchAll(/rss t=(\d+) mb=(\d+)/g)].map((m) => `${m[1]}s:${m[2]}`).join(' '));
console.log(`max RSS: ${/maxRssMB=(\d+)/.exec(res.stdout)?.[1]} MB`);
console.log(`spans: ${sent} ended, ${spans.length} received, ${sent - spans.length} lost (${((100 * (sent - spans.length)) / Math.max(1, sent)).toFixed(1)} %)`);
console.log('stderr lines:', res.stderr.split('\n').filter(Boolean).length);
console.log(res.stderr.trim());
await otlp.close();
