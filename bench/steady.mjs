#!/usr/bin/env node
// Steady-state benchmark: `npm run bench:steady [-- --rounds N --warmup S --duration S --node PATH]`.
//
// A node:http hello-world and an Express hello-world (bench/apps/steady/) under load from
// autocannon on 127.0.0.1, under plain node, ours, upstream's register, EDOT Node.js and dd-trace.
// Every launcher exports traces over OTLP to a local sink (its own process, 127.0.0.1, answers 200
// and discards), every request sampled (bench/launchers.mjs: launcherEnv). Per variant and round: a
// fresh server process, a warm-up, then a measured window: requests/s, p50 and p99 latency, the
// server's CPU per request (process.cpuUsage() delta over the window), RSS after the load. Variants
// alternate within a round (plain, ours, upstream, ..., plain, ours, ...); medians over rounds and
// throughput ratios to plain node. Exits 0 whatever the numbers. See docs/performance.md.
import { fork } from 'node:child_process';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { saveResults } from './results.mjs';
import { LAUNCHER_LABELS, ensureLaunchers, launcherEnv, launcherFlags, loadAutocannon } from './launchers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const appsDir = join(here, 'apps');
const NODES = { 22: 'node_modules/node22/bin/node', 24: 'node_modules/node/bin/node' };
const WORKLOADS = {
  http: { title: 'node:http hello-world', app: join(appsDir, 'steady', 'hello-http.cjs'), path: '/' },
  express: { title: 'Express hello-world (GET /hello/:name)', app: join(appsDir, 'steady', 'hello-express.cjs'), path: '/hello/world' },
};

function die(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { rounds: 3, warmup: 5, duration: 10, connections: 10, node: process.env.BENCH_NODE, workloads: Object.keys(WORKLOADS), variants: Object.keys(LAUNCHER_LABELS), env: {}, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => (i + 1 < argv.length ? argv[++i] : die(`${a} needs a value`));
    const num = () => {
      const n = Number(val());
      if (!(n > 0)) die(`${a} needs a positive number`);
      return n;
    };
    if (a === '-h' || a === '--help') {
      console.log(`usage: node bench/steady.mjs [options]
  --rounds N        rounds, each running every variant once, alternating (default 3)
  --warmup S        seconds of load before measuring, per variant and round (default 5)
  --duration S      measured seconds per variant and round (default 10)
  --connections N   autocannon connections (default 10)
  --workload W      http or express (default both; repeatable)
  --variant V       plain, ours, upstream, edot, ddtrace (default all; repeatable; plain always runs)
  --env K=V         extra environment for every server (repeatable)
  --node PATH       Node for the servers ("24", "22" or a path; default the repo's Node 24)
  --json FILE       also write the raw measurements to FILE
  --save-as NAME    section name in bench/results/<date>-<node>.json (default steady)`);
      process.exit(0);
    } else if (a === '--rounds') o.rounds = Math.round(num());
    else if (a === '--warmup') o.warmup = num();
    else if (a === '--duration') o.duration = num();
    else if (a === '--connections') o.connections = Math.round(num());
    else if (a === '--node') o.node = val();
    else if (a === '--json') o.json = val();
    else if (a === '--save-as') o.save = val();
    else if (a === '--workload') {
      const w = val();
      if (!WORKLOADS[w]) die(`unknown workload "${w}"`);
      o.workloads = o.workloadsSet ? [...o.workloads, w] : [w];
      o.workloadsSet = true;
    } else if (a === '--variant') {
      const v = val();
      if (!LAUNCHER_LABELS[v]) die(`unknown variant "${v}"`);
      o.variants = o.variantsSet ? [...o.variants, v] : ['plain', v].filter((x, j, all) => all.indexOf(x) === j);
      o.variantsSet = true;
    } else if (a === '--env') {
      const kv = val();
      const k = kv.indexOf('=');
      if (k < 1) die('--env needs KEY=VALUE');
      o.env[kv.slice(0, k)] = kv.slice(k + 1);
    } else die(`unknown argument "${a}" (see --help)`);
  }
  o.node = o.node ? (NODES[o.node] ? join(root, NODES[o.node]) : resolvePath(o.node)) : join(root, NODES[24]);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
if (!ensureLaunchers()) die('autocannon is needed (npm ci --prefix bench/launchers)');
const autocannon = loadAutocannon();
const flags = launcherFlags(root);
for (const v of opts.variants) if (!flags[v]) console.log(`bench: ${LAUNCHER_LABELS[v]} is not installed; left out`);
const variants = opts.variants.filter((v) => flags[v]);

/** A child with an IPC channel; resolves with it and its first message. */
function forkReady(script, args, execArgv, env) {
  return new Promise((resolve, reject) => {
    const c = fork(script, args, { cwd: appsDir, execPath: opts.node, execArgv, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    c.stderr.on('data', (d) => {
      if (stderr.length < 4000) stderr += d;
    });
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`no answer from ${script} in 30 s: ${stderr.slice(0, 500)}`));
    }, 30_000);
    c.once('message', (m) => {
      clearTimeout(timer);
      resolve({ child: c, first: m, stderr: () => stderr });
    });
    c.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}) before it was ready: ${stderr.slice(0, 500)}`));
    });
  });
}
const ask = (child, msg) => new Promise((r) => {
  child.once('message', r);
  child.send(msg);
});
const load = (port, path, seconds) =>
  new Promise((resolve, reject) => {
    autocannon({ url: `http://127.0.0.1:${port}${path}`, connections: opts.connections, duration: seconds }, (err, r) => (err ? reject(err) : resolve(r)));
  });
function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    if (child.connected) child.send('exit');
    else child.kill('SIGTERM');
  });
}

const sinkEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS'));
const sink = await forkReady(join(appsDir, 'otlp-sink.cjs'), [], [], sinkEnv);
const endpoint = `http://127.0.0.1:${sink.first.port}`;
const serverEnv = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && !k.startsWith('DD_') && k !== 'NODE_OPTIONS')), ...launcherEnv(endpoint), ...opts.env };

async function measure(workload, variant) {
  const w = WORKLOADS[workload];
  const server = await forkReady(w.app, [], flags[variant], serverEnv);
  try {
    const { port } = server.first;
    await load(port, w.path, opts.warmup);
    const sinkBefore = await ask(sink.child, 'count');
    const before = await ask(server.child, 'mark');
    const r = await load(port, w.path, opts.duration);
    const after = await ask(server.child, 'mark');
    const sinkAfter = await ask(sink.child, 'count');
    const cpuUs = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system;
    const requests = r.requests.total;
    return {
      ok: r.non2xx === 0 && r.errors === 0 && requests > 0,
      rps: requests / opts.duration,
      p50: r.latency.p50,
      p99: r.latency.p99,
      cpuUsPerReq: cpuUs / requests,
      cpuPct: cpuUs / 1e4 / opts.duration,
      rssMiB: after.rss / 2 ** 20,
      requests,
      errors: r.errors + r.non2xx,
      sinkPosts: sinkAfter.posts - sinkBefore.posts,
      sinkBytesPerReq: (sinkAfter.bytes - sinkBefore.bytes) / requests,
      sinkPaths: Object.fromEntries(Object.entries(sinkAfter.paths).map(([k, n]) => [k, n - (sinkBefore.paths[k] ?? 0)]).filter(([, n]) => n > 0)),
      stderr: server.stderr().trim().slice(0, 300) || undefined,
    };
  } finally {
    await stop(server.child);
  }
}

const version = (await forkReady(join(appsDir, 'steady', 'version.cjs'), [], [], sinkEnv)).first;
const machine = `${availableParallelism()} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}`;
console.log(`steady-state bench: node ${version.node} at ${opts.node}`);
console.log(`machine: ${machine}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`${opts.rounds} rounds x ${variants.length} variants x ${opts.workloads.length} workloads, ${opts.warmup} s warm-up + ${opts.duration} s measured each, ${opts.connections} connections; sink ${endpoint}`);
const total = opts.rounds * variants.length * opts.workloads.length * (opts.warmup + opts.duration + 1);
console.log(`about ${Math.ceil(total / 60)} min`);

const results = {};
for (const w of opts.workloads) for (const v of variants) results[`${w}/${v}`] = [];
for (let round = 0; round < opts.rounds; round++) {
  for (const w of opts.workloads) {
    for (const v of variants) {
      let r;
      try {
        r = await measure(w, v);
      } catch (err) {
        r = { ok: false, problem: err.message };
      }
      results[`${w}/${v}`].push(r);
      if (process.stderr.isTTY) process.stderr.write(`\rround ${round + 1}/${opts.rounds} ${w} ${v}          `);
    }
  }
}
if (process.stderr.isTTY) process.stderr.write(`\r${' '.repeat(60)}\r`);
sink.child.disconnect();

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = {};
for (const w of opts.workloads) {
  console.log(`\n${WORKLOADS[w].title}: medians over ${opts.rounds} rounds (min-max of the throughput ratio across rounds)`);
  const head = ['variant', 'req/s', 'x plain', '(range)', 'p50 ms', 'p99 ms', 'CPU µs/req', 'server CPU %', 'RSS MiB', 'x plain', 'sink B/req', 'ok'];
  const rows = [];
  const plainRuns = results[`${w}/plain`];
  for (const v of variants) {
    const runs = results[`${w}/${v}`];
    const ok = runs.filter((r) => r.ok);
    const m = (k) => median(ok.map((r) => r[k]));
    // Ratio per round (each against the plain run of the same round), then the spread.
    const perRound = runs.map((r, i) => (r.ok && plainRuns[i]?.ok ? r.rps / plainRuns[i].rps : NaN)).filter(Number.isFinite);
    const s = { rps: m('rps'), p50: m('p50'), p99: m('p99'), cpuUsPerReq: m('cpuUsPerReq'), cpuPct: m('cpuPct'), rssMiB: m('rssMiB'), sinkBytesPerReq: m('sinkBytesPerReq'), ratio: median(perRound), ratioMin: Math.min(...perRound), ratioMax: Math.max(...perRound), ok: ok.length, of: runs.length };
    summary[`${w}/${v}`] = s;
    const plain = summary[`${w}/plain`];
    rows.push([
      LAUNCHER_LABELS[v],
      s.rps.toFixed(0),
      `${s.ratio.toFixed(2)}x`,
      perRound.length > 1 ? `${s.ratioMin.toFixed(2)}-${s.ratioMax.toFixed(2)}` : '',
      s.p50.toFixed(2),
      s.p99.toFixed(2),
      s.cpuUsPerReq.toFixed(0),
      s.cpuPct.toFixed(0),
      s.rssMiB.toFixed(0),
      `${(s.rssMiB / plain.rssMiB).toFixed(2)}x`,
      s.sinkBytesPerReq.toFixed(0),
      `${s.ok}/${s.of}`,
    ]);
    const bad = runs.find((r) => !r.ok);
    if (bad) console.log(`  ${v}: a failed run: ${bad.problem ?? `${bad.errors} errors`}`);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}
console.log('\nx plain: ratio to plain node in the same round (median; range over rounds). CPU µs/req: the server process');
console.log("only (process.cpuUsage() over the measured window / requests). RSS: the server's, right after the load.");
console.log('sink B/req: OTLP bytes the sink received per request in the window (0 for plain node).');

const raw = { node: version, machine, command: `node bench/steady.mjs ${process.argv.slice(2).join(' ')}`.trim(), opts, summary, runs: results };
if (opts.json) {
  writeFileSync(opts.json, JSON.stringify(raw, null, 1));
  console.log(`raw results: ${opts.json}`);
}
console.log(`results: ${saveResults(opts.save ?? 'steady', version.node, raw)}`);
process.exit(0);
