#!/usr/bin/env node
// Steady-state benchmark: `npm run bench:steady [-- --rounds N --warmup S --duration S --node 24,22]`.
//
// A node:http hello-world and an Express hello-world (bench/apps/steady/) under load from
// autocannon on 127.0.0.1, under plain node, ours (our tracer and, OTEL_NODE_TRACER=sdk, the SDK
// path), upstream's register, EDOT Node.js and dd-trace (at its defaults, which rate-limit what it
// keeps, and with every trace kept). Every launcher exports traces over OTLP to a local sink (its
// own process, 127.0.0.1, answers 200), every request sampled (bench/launchers.mjs: launcherEnv);
// the sink counts the spans and traces it receives. Per variant and round: a fresh server
// process, a warm-up, then a measured window: requests/s, p50 and p99 latency, the server's CPU
// per request (process.cpuUsage() delta over the window) and CPU share, RSS after the load, traces
// exported per second and spans per request. Variants alternate within a round (plain, ours,
// upstream, ..., plain, ours, ...); medians over rounds and throughput ratios to plain node in the
// same round. `--node 24,22` runs the whole bench once per Node, one after the other, each saving
// its own results file. Exits 0 whatever the numbers. See docs/performance.md.
import { fork, spawnSync } from 'node:child_process';
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
  const o = { rounds: 3, warmup: 5, duration: 10, connections: 10, node: process.env.BENCH_NODE, workloads: Object.keys(WORKLOADS), variants: Object.keys(LAUNCHER_LABELS).filter((v) => v !== 'ours-bsp'), env: {}, json: undefined };
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
  --variant V       ${Object.keys(LAUNCHER_LABELS).join(', ')}
                    (default all but ours-bsp; repeatable; plain always runs)
  --env K=V         extra environment for every server (repeatable)
  --node LIST       Node for the servers: "24", "22" or a path; a comma-separated list ("24,22")
                    runs the whole bench once per Node, in turn (default the repo's Node 24)
  --json FILE       also write the raw measurements to FILE (FILE-<node>.json for each of a list)
  --pin             servers on the last CPU, the load generator and the sink on the others
                    (taskset -a -p; Linux), so their work stays off the server's core
  --save-as NAME    section name in bench/results/<date>-<node>.json (default steady)`);
      process.exit(0);
    } else if (a === '--rounds') o.rounds = Math.round(num());
    else if (a === '--warmup') o.warmup = num();
    else if (a === '--duration') o.duration = num();
    else if (a === '--connections') o.connections = Math.round(num());
    else if (a === '--node') o.node = val();
    else if (a === '--json') o.json = val();
    else if (a === '--pin') o.pin = true;
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
  o.nodes = o.node ? String(o.node).split(',').filter(Boolean) : ['24'];
  o.node = NODES[o.nodes[0]] ? join(root, NODES[o.nodes[0]]) : resolvePath(o.nodes[0]);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
if (opts.nodes.length > 1) {
  ensureLaunchers();
  runEach(opts.nodes);
}

/** `--node 24,22`: this script again for each Node, in turn, with the same arguments. */
function runEach(nodes) {
  const argv = process.argv.slice(2);
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--node' || argv[i] === '--json') i++;
    else rest.push(argv[i]);
  }
  let failed = 0;
  for (const n of nodes) {
    console.log(`\n=== steady-state bench, --node ${n} ===`);
    const json = opts.json ? ['--json', opts.json.replace(/(\.json)?$/, `-node${n.replace(/\W+/g, '_')}.json`)] : [];
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...rest, '--node', n, ...json], { stdio: 'inherit', env: { ...process.env, BENCH_SKIP_INSTALL: '1' } });
    if (r.status !== 0) failed++;
  }
  process.exit(failed > 0 ? 2 : 0);
}
if (!ensureLaunchers()) die('autocannon is needed (npm ci --prefix bench/launchers)');
const autocannon = loadAutocannon();
const flags = launcherFlags(root);
for (const v of opts.variants) if (!flags[v]) console.log(`bench: ${LAUNCHER_LABELS[v]} is not installed; left out`);
const variants = opts.variants.filter((v) => flags[v]);

// --pin: the server gets the last CPU to itself as far as this bench goes (other processes on the
// machine still share it: its CPU share column says how much it got).
const cpuCount = availableParallelism();
const SERVER_CPUS = String(cpuCount - 1);
const OTHER_CPUS = cpuCount > 2 ? `0-${cpuCount - 2}` : '0';
/** Sets the CPU affinity of every thread of `pid`; false when it could not. */
function pin(pid, cpus) {
  return spawnSync('taskset', ['-a', '-pc', cpus, String(pid)], { stdio: 'ignore' }).status === 0;
}
if (opts.pin && (cpuCount < 2 || !pin(process.pid, OTHER_CPUS))) die('--pin needs taskset (util-linux) and 2 CPUs or more');

/** A child with an IPC channel; resolves with it and its first message. `cpus`: pin it there (--pin). */
function forkReady(script, args, execArgv, env, cpus) {
  return new Promise((resolve, reject) => {
    const c = fork(script, args, { cwd: appsDir, execPath: opts.node, execArgv, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    // Right after the fork: the threads Node starts later inherit the affinity.
    if (opts.pin && cpus !== undefined) pin(c.pid, cpus);
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
const sink = await forkReady(join(appsDir, 'otlp-sink.cjs'), [], [], sinkEnv, OTHER_CPUS);
const endpoint = `http://127.0.0.1:${sink.first.port}`;
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_') && !k.startsWith('DD_') && k !== 'NODE_OPTIONS'));
const serverEnv = (variant) => ({ ...cleanEnv, ...launcherEnv(endpoint, variant), ...opts.env });

async function measure(workload, variant) {
  const w = WORKLOADS[workload];
  await ask(sink.child, 'reset');
  const server = await forkReady(w.app, [], flags[variant], serverEnv(variant), SERVER_CPUS);
  let out;
  let window;
  try {
    const { port } = server.first;
    await load(port, w.path, opts.warmup);
    const sinkBefore = await ask(sink.child, 'count');
    const before = await ask(server.child, 'mark');
    const from = Date.now();
    const r = await load(port, w.path, opts.duration);
    window = [from, Date.now()];
    const after = await ask(server.child, 'mark');
    const sinkAfter = await ask(sink.child, 'count');
    const cpuUs = after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system;
    const requests = r.requests.total;
    out = {
      ok: r.non2xx === 0 && r.errors === 0 && requests > 0,
      rps: requests / opts.duration,
      p50: r.latency.p50,
      p99: r.latency.p99,
      cpuUsPerReq: cpuUs / requests,
      cpuPct: cpuUs / 1e4 / opts.duration,
      rssMiB: after.rss / 2 ** 20,
      newSpaceMiB: after.newSpace / 2 ** 20,
      requests,
      errors: r.errors + r.non2xx,
      sinkPosts: sinkAfter.posts - sinkBefore.posts,
      sinkBytesPerReq: (sinkAfter.bytes - sinkBefore.bytes) / requests,
      sinkUndecoded: sinkAfter.undecoded - sinkBefore.undecoded,
      sinkPaths: Object.fromEntries(Object.entries(sinkAfter.paths).map(([k, n]) => [k, n - (sinkBefore.paths[k] ?? 0)]).filter(([, n]) => n > 0)),
      stderr: server.stderr().trim().slice(0, 300) || undefined,
    };
  } finally {
    // Stopping the server flushes what its exporter still holds.
    await stop(server.child);
  }
  // The spans that started in the measured window, wherever their export fell: exports lag the
  // requests by up to the exporter's batch delay, and the last ones leave at shutdown.
  const counted = await ask(sink.child, { window });
  return {
    ...out,
    tracesPerSec: counted.roots / opts.duration,
    tracedPct: (100 * counted.roots) / out.requests,
    spansPerReq: counted.spans / out.requests,
  };
}

const version = (await forkReady(join(appsDir, 'steady', 'version.cjs'), [], [], sinkEnv)).first;
const machine = `${cpuCount} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}`;
console.log(`steady-state bench: node ${version.node} at ${opts.node}`);
console.log(`machine: ${machine}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`${opts.rounds} rounds x ${variants.length} variants x ${opts.workloads.length} workloads, ${opts.warmup} s warm-up + ${opts.duration} s measured each, ${opts.connections} connections; sink ${endpoint}`);
console.log(opts.pin ? `pinned: servers on CPU ${SERVER_CPUS}, load generator and sink on CPU ${OTHER_CPUS}` : 'not pinned (--pin puts the servers on a CPU of their own)');
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
  const head = ['variant', 'req/s', 'x plain', '(range)', 'p50 ms', 'p99 ms', 'CPU µs/req', 'server CPU %', 'RSS MiB', 'x plain', 'new space MiB', 'traces/s', 'traced %', 'spans/req', 'sink B/req', 'ok'];
  const rows = [];
  const plainRuns = results[`${w}/plain`];
  for (const v of variants) {
    const runs = results[`${w}/${v}`];
    const ok = runs.filter((r) => r.ok);
    const m = (k) => median(ok.map((r) => r[k]));
    // Ratio per round (each against the plain run of the same round), then the spread.
    const perRound = runs.map((r, i) => (r.ok && plainRuns[i]?.ok ? r.rps / plainRuns[i].rps : NaN)).filter(Number.isFinite);
    const s = { rps: m('rps'), p50: m('p50'), p99: m('p99'), cpuUsPerReq: m('cpuUsPerReq'), cpuPct: m('cpuPct'), rssMiB: m('rssMiB'), newSpaceMiB: m('newSpaceMiB'), sinkBytesPerReq: m('sinkBytesPerReq'), tracesPerSec: m('tracesPerSec'), tracedPct: m('tracedPct'), spansPerReq: m('spansPerReq'), ratio: median(perRound), ratioMin: Math.min(...perRound), ratioMax: Math.max(...perRound), ok: ok.length, of: runs.length };
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
      s.newSpaceMiB.toFixed(0),
      s.tracesPerSec.toFixed(0),
      v === 'plain' ? '' : s.tracedPct.toFixed(0),
      s.spansPerReq.toFixed(2),
      s.sinkBytesPerReq.toFixed(0),
      `${s.ok}/${s.of}`,
    ]);
    const bad = runs.find((r) => !r.ok);
    if (bad) console.log(`  ${v}: a failed run: ${bad.problem ?? `${bad.errors} errors`}`);
    const undecoded = ok.reduce((n, r) => n + (r.sinkUndecoded ?? 0), 0);
    if (undecoded > 0) console.log(`  ${v}: the sink could not decode ${undecoded} trace export(s); traces/s and spans/req undercount`);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}
console.log('\nx plain: ratio to plain node in the same round (median; range over rounds). CPU µs/req: the server process');
console.log("only (process.cpuUsage() over the measured window / requests). RSS: the server's, right after the load;");
console.log("new space: the size of V8's young generation then (v8.getHeapSpaceStatistics()).");
console.log('server CPU %: its CPU time over the window (100 = one full core). traces/s: traces (root spans) that started');
console.log('in the window and reached the sink, counted once the server stopped and flushed, per second; traced %: the');
console.log('same per request served (100: every request exported); spans/req: spans that started in the window and reached');
console.log('the sink, per request. sink B/req: OTLP bytes the sink received during the window, per request.');
console.log('Compare the CPU and throughput of two variants only where their traced % and spans/req match: a variant that');
console.log('exports less does less work per request.');

const raw = { node: version, machine, command: `node bench/steady.mjs ${process.argv.slice(2).join(' ')}`.trim(), opts, summary, runs: results };
if (opts.json) {
  writeFileSync(opts.json, JSON.stringify(raw, null, 1));
  console.log(`raw results: ${opts.json}`);
}
console.log(`results: ${saveResults(opts.save ?? 'steady', version.node, raw)}`);
process.exit(0);
