// The viewer under a flood: OTLP/JSON bodies of new traces (160 spans, 3 KB attribute each) posted
// back to back to `otel-instrument viewer`, once with its caps and once with caps too large to
// matter; reports the viewer process's peak RSS and the rate it took the bodies in.
//   node bench/viewer.mjs [--mb 300] [--max-bytes 8388608] [--max-traces 1000] [--node 22|24|PATH]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchArgs, ROOT } from './args.mjs';
import { saveResults } from './results.mjs';

const { opt, node } = benchArgs('node bench/viewer.mjs [--mb 300] [--max-bytes 8388608] [--max-traces 1000] [--node 22|24|PATH]');
const mb = Number(opt('--mb', '300'));
const caps = { maxBytes: opt('--max-bytes', '8388608'), maxTraces: opt('--max-traces', '1000') };
const SPANS = 160;
const pad = 'x'.repeat(3000);

function body(batch) {
  const spans = [];
  for (let i = 0; i < SPANS; i++) {
    const id = (batch * SPANS + i).toString(16).padStart(32, '0');
    spans.push({ traceId: id, spanId: id.slice(16), name: `GET /flood/${i}`, kind: 2, startTimeUnixNano: '1', endTimeUnixNano: '2', attributes: [{ key: 'pad', value: { stringValue: `${pad}${i}` } }] });
  }
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
}

async function run(maxBytes, maxTraces) {
  const child = spawn(node, [join(ROOT, 'bin/otel-instrument.js'), 'viewer', '--viewer-port', '0', '--viewer-max-bytes', maxBytes, '--viewer-max-traces', maxTraces], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  while (!/viewer at (\S+)/.test(err)) await new Promise((r) => setTimeout(r, 50));
  const url = /viewer at (\S+)/.exec(err)[1];
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;
  let sent = 0;
  let peak = 0;
  const t0 = performance.now();
  for (let b = 0; sent < mb * 1e6; b++) {
    const text = body(b);
    sent += text.length;
    const res = await fetch(`${url}v1/traces`, { method: 'POST', body: text, headers: { 'content-type': 'application/json' } });
    await res.text();
    if (b % 10 === 0) peak = Math.max(peak, rss());
  }
  const seconds = (performance.now() - t0) / 1000;
  peak = Math.max(peak, rss());
  const { usage } = await (await fetch(`${url}api/traces?limit=1`)).json();
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  return { sentMB: Math.round(sent / 1e6), peakRssMB: Math.round(peak), MBps: Math.round(sent / 1e6 / seconds), kept: usage };
}

const version = await new Promise((res) => {
  const c = spawn(node, ['--version']);
  let out = '';
  c.stdout.on('data', (d) => (out += d));
  c.on('close', () => res(out.trim()));
});
const bounded = await run(caps.maxBytes, caps.maxTraces);
const unbounded = await run(String(2 ** 40), String(1e7));
console.log(`node ${version}, ${bounded.sentMB} MB of OTLP/JSON in ${SPANS}-span bodies`);
console.log(`  caps ${caps.maxTraces} traces / ${caps.maxBytes} bytes: peak RSS ${bounded.peakRssMB} MB, ${bounded.MBps} MB/s, kept ${bounded.kept.traces} traces / ${bounded.kept.bytes} bytes`);
console.log(`  no caps:                       peak RSS ${unbounded.peakRssMB} MB, ${unbounded.MBps} MB/s, kept ${unbounded.kept.traces} traces`);
console.log(`results: ${saveResults('viewer', version, { mb, caps, bounded, unbounded })}`);
