#!/usr/bin/env node
// Startup benchmark: `npm run bench:startup [-- --rounds N --node PATH]`.
//
// Two workloads (`node -e 0`, and an Express app that starts and exits) under the ways of
// starting Node: plain, ours with --import, ours with --require, upstream
// @opentelemetry/auto-instrumentations-node/register with --require, and, from bench/launchers
// (installed on first use), EDOT Node.js and dd-trace with --require. Variants run one child at a
// time, alternating (A B C D A B C D ...), for N rounds. Per run: wall time (spawn to exit, measured
// here), CPU time and peak RSS (process.resourceUsage() in the child at 'exit', via
// bench/probe.cjs). Files loaded come from a separate, untimed pass with the probe's load hook on.
// Prints medians and ratios to plain node. Exits 0 whatever the numbers; non-zero only when it
// cannot run at all. See docs/performance.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveResults } from './results.mjs';
import { ensureLaunchers, launcherEnv, resolveLauncher } from './launchers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const appsDir = join(here, 'apps');
const probe = join(here, 'probe.cjs');
const CHILD_TIMEOUT_MS = 30_000;
const NODES = { 22: 'node_modules/node22/bin/node', 24: 'node_modules/node/bin/node', oldest: 'node_modules/node-oldest/bin/node' };

function die(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

// ---------------------------------------------------------------- arguments
function parseArgs(argv) {
  const o = { rounds: 15, node: process.env.BENCH_NODE || undefined, json: undefined, top: 10, workloads: ['empty', 'express'], env: {}, variants: [] };
  for (let i = 0; i < argv.length; i++) {
    const eq = argv[i].indexOf('=');
    const flag = eq === -1 ? argv[i] : argv[i].slice(0, eq);
    const val = () => {
      if (eq !== -1) return argv[i].slice(eq + 1);
      if (i + 1 >= argv.length) die(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '-h':
      case '--help':
        console.log(`usage: node bench/startup.mjs [--rounds N] [--node PATH|22|24] [--workload empty|express] [--variant ID] [--env K=V] [--top N] [--json FILE]
  --rounds N     timed rounds, each running every variant once, alternating (default 15)
  --node PATH    Node binary for the children (or BENCH_NODE; "24", "22", "oldest" = the repo's
                 devDependency nodes); default: the node running this script
  --workload W   only one workload (default: both)
  --variant ID   only this variant beside plain node (repeatable): ours-import, ours-require,
                 upstream, edot, ddtrace (default: all); a quicker run to measure one change
  --env K=V      extra environment for every child (repeatable), e.g. to see what a setting costs
  --top N        files-per-package lines printed per instrumented variant (default 10, 0 = none)
  --json FILE    also write every raw measurement to FILE
  --save-as NAME section name in bench/results/<date>-<node>.json (default "startup", or
                 "startup K=V... variants=..." when --env or --variant is given)`);
        process.exit(0);
        break;
      case '--rounds':
        o.rounds = Number(val());
        if (!Number.isInteger(o.rounds) || o.rounds < 1) die('--rounds needs a positive integer');
        break;
      case '--node':
        o.node = val();
        break;
      case '--env': {
        const kv = val();
        const k = kv.indexOf('=');
        if (k < 1) die('--env needs KEY=VALUE');
        o.env[kv.slice(0, k)] = kv.slice(k + 1);
        break;
      }
      case '--variant': {
        const v = val();
        if (!['ours-import', 'ours-require', 'upstream', 'edot', 'ddtrace'].includes(v)) die(`unknown variant "${v}" (ours-import, ours-require, upstream, edot, ddtrace)`);
        o.variants.push(v);
        break;
      }
      case '--json':
        o.json = val();
        break;
      case '--save-as':
        o.saveAs = val();
        break;
      case '--top':
        o.top = Number(val());
        if (!Number.isInteger(o.top) || o.top < 0) die('--top needs a non-negative integer');
        break;
      case '--workload': {
        const w = val();
        if (w !== 'empty' && w !== 'express') die(`unknown workload "${w}" (empty, express)`);
        o.workloads = [w];
        break;
      }
      default:
        die(`unknown argument "${argv[i]}" (see --help)`);
    }
  }
  if (o.node && NODES[o.node]) o.node = join(root, NODES[o.node]);
  // Children run in bench/apps: a relative path is taken from where the bench was started.
  else if (o.node && o.node.includes('/')) o.node = resolvePath(o.node);
  // Explicit, not PATH: node_modules/.bin/node is whichever node package npm linked last.
  o.node ??= join(root, NODES[24]);
  return o;
}

const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------- preconditions
const nodeInfo = (() => {
  const r = spawnSync(opts.node, ['-p', 'JSON.stringify({v: process.version, v8: process.versions.v8, arch: process.arch})'], { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, env: { ...process.env, NODE_OPTIONS: '' } });
  if (r.error || r.status !== 0) die(`cannot run node "${opts.node}": ${r.error?.message ?? r.stderr.trim()}`);
  try {
    return JSON.parse(r.stdout);
  } catch {
    die(`"${opts.node}" did not answer like node: ${r.stdout.slice(0, 200)}`);
  }
})();
if (!existsSync(join(root, 'dist', 'start.js'))) die('dist/ is missing: run `npm run build` (npm run bench:startup builds first)');
for (const m of ['express', '@opentelemetry/auto-instrumentations-node/register']) {
  const r = spawnSync(opts.node, ['-e', `require.resolve(${JSON.stringify(m)})`], { cwd: appsDir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  if (r.status !== 0) die(`cannot resolve ${m} from ${appsDir}: run npm ci`);
}
// `--require otel-autoinstrument/register` resolves from the child's cwd: give bench/apps a link
// to this repo, as test/fixtures/apps has (node_modules/ is git-ignored).
const link = join(appsDir, 'node_modules', 'otel-autoinstrument');
try {
  lstatSync(link);
} catch {
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(relative(dirname(link), root), link, 'dir');
}

/** Content hash and newest mtime of dist/: a rebuild that changes it mid-run mixes two builds. */
function distStamp() {
  const hash = createHash('sha1');
  let newest = 0;
  const files = readdirSync(join(root, 'dist'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
  for (const f of files) {
    newest = Math.max(newest, statSync(f).mtimeMs);
    hash.update(f).update(readFileSync(f));
  }
  return { hash: hash.digest('hex').slice(0, 12), newest };
}
const distBefore = distStamp();

// ---------------------------------------------------------------- variants
const OURS = 'otel-autoinstrument/register';
const UPSTREAM = '@opentelemetry/auto-instrumentations-node/register';
const CJS_APP = join(appsDir, 'express-start-exit.cjs');
const ESM_APP = join(appsDir, 'express-start-exit.mjs');
const EMPTY = ['-e', '0'];

// EDOT Node.js and dd-trace come from bench/launchers (installed on first use); left out when
// they cannot be installed. Both take --require with a CommonJS app.
const wanted = (id) => opts.variants.length === 0 || opts.variants.includes(id);
const others = opts.variants.length > 0 && !wanted('edot') && !wanted('ddtrace') ? [] : ensureLaunchers()
  ? [
      { id: 'edot', label: 'EDOT --require', path: resolveLauncher('@elastic/opentelemetry-node') },
      { id: 'ddtrace', label: 'dd-trace --require', path: resolveLauncher('dd-trace/init') },
    ].filter((o) => o.path && wanted(o.id))
  : [];
const otherVariants = (app, base, suffix) => others.map((o) => ({ id: o.id, label: `${o.label}${suffix}`, args: ['--require', o.path, ...app], base }));

/** base: the plain-node variant this one is compared with (same program). */
const WORKLOADS = {
  empty: {
    title: 'empty program: node -e 0',
    variants: [
      { id: 'plain', label: 'plain node', args: [...EMPTY] },
      { id: 'ours-import', label: 'ours --import', args: ['--import', OURS, ...EMPTY], base: 'plain', ours: true },
      { id: 'ours-require', label: 'ours --require', args: ['--require', OURS, ...EMPTY], base: 'plain', ours: true },
      { id: 'upstream', label: 'upstream --require', args: ['--require', UPSTREAM, ...EMPTY], base: 'plain' },
      ...otherVariants(EMPTY, 'plain', ''),
    ],
  },
  express: {
    title: 'Express start-exit (bench/apps/express-start-exit.{cjs,mjs})',
    variants: [
      { id: 'plain-cjs', label: 'plain node (.cjs)', args: [CJS_APP] },
      { id: 'plain-esm', label: 'plain node (.mjs)', args: [ESM_APP] },
      { id: 'ours-import', label: 'ours --import (.mjs)', args: ['--import', OURS, ESM_APP], base: 'plain-esm', ours: true },
      { id: 'ours-require', label: 'ours --require (.cjs)', args: ['--require', OURS, CJS_APP], base: 'plain-cjs', ours: true },
      { id: 'upstream', label: 'upstream --require (.cjs)', args: ['--require', UPSTREAM, CJS_APP], base: 'plain-cjs' },
      ...otherVariants([CJS_APP], 'plain-cjs', ' (.cjs)'),
    ],
  },
};
// --variant: plain node stays (every ratio needs it), and of the plain forms only those some kept variant compares with.
for (const def of Object.values(WORKLOADS)) {
  const kept = def.variants.filter((v) => v.base !== undefined && wanted(v.id));
  def.variants = def.variants.filter((v) => (v.base === undefined ? kept.some((k) => k.base === v.id) || kept.length === 0 : kept.includes(v)));
}
// Issue 24: Express start-exit at most 1.5x plain's wall and CPU, 1.15x its peak RSS; node -e 0 at most 2x wall.
const TARGETS = { wall: 1.5, cpu: 1.5, rss: 1.15, emptyWall: 2 };

// ---------------------------------------------------------------- sink + child runner
let sinkPosts = 0;
const sink = createServer((req, res) => {
  if (req.method === 'POST') sinkPosts++;
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': req.headers['content-type'] || 'application/json', 'content-length': 0 });
    res.end();
  });
});
await new Promise((res, rej) => {
  sink.once('error', (e) => rej(e));
  sink.listen(0, '127.0.0.1', res);
}).catch((e) => die(`cannot start the OTLP sink on 127.0.0.1: ${e.message}`));
sink.unref();
const endpoint = `http://127.0.0.1:${sink.address().port}`;

const childEnv = (() => {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('OTEL_') || k.startsWith('DD_') || k === 'NODE_OPTIONS' || k === 'BENCH_NODE' || k.startsWith('BENCH_PROBE_')) continue;
    env[k] = v;
  }
  return Object.assign(env, {
    OTEL_SERVICE_NAME: 'bench',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    // Upstream runs the cloud detectors (aws, gcp, azure, alibaba) by default; they probe
    // metadata addresses off this machine. Same local-only list for every variant.
    OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process,serviceinstance',
    // dd-trace: its agent is the sink; no telemetry, remote config or profiler (bench/launchers.mjs).
    ...Object.fromEntries(Object.entries(launcherEnv(endpoint)).filter(([k]) => k.startsWith('DD_'))),
    ...opts.env,
  });
})();

const tmp = mkdtempSync(join(tmpdir(), 'otel-autoinstrument-bench-'));
let seq = 0;

/** The most telling line of a failed child's stderr. */
function errorLine(stderr) {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^Node\.js v/.test(l));
  return lines.find((l) => /^(\w*Error\b|error:)|: (error|warning):/i.test(l)) ?? lines.at(-1) ?? '(no stderr)';
}

/** One child, asynchronously (the sink lives in this process). Resolves with its measurements. */
function runOnce(variant, countFiles = '') {
  const out = join(tmp, `r${seq++}.json`);
  const env = { ...childEnv, BENCH_PROBE_OUT: out };
  if (countFiles) env.BENCH_PROBE_FILES = countFiles;
  const postsBefore = sinkPosts;
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(opts.node, ['--require', probe, ...variant.args], { cwd: appsDir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let wallMs;
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, CHILD_TIMEOUT_MS);
    child.stderr.on('data', (d) => {
      if (stderr.length < 4000) stderr += d;
    });
    child.on('exit', () => {
      wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    });
    child.on('error', (e) => {
      stderr += `spawn error: ${e.message}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let p;
      try {
        p = JSON.parse(readFileSync(out, 'utf8'));
      } catch {
        p = undefined;
      }
      const notStarted = variant.ours && /otel-autoinstrument: error: not started/.test(stderr);
      const ok = !timedOut && code === 0 && p !== undefined && !notStarted;
      resolve({
        ok,
        wallMs,
        cpuMs: p ? (p.userUs + p.systemUs) / 1000 : undefined,
        rssMiB: p ? p.maxRssKiB / 1024 : undefined,
        files: p?.files,
        posts: sinkPosts - postsBefore,
        problem: ok ? undefined : notStarted ? `ours did not start: ${errorLine(stderr)}` : timedOut ? `killed after ${CHILD_TIMEOUT_MS / 1000} s` : `exit ${code ?? signal}${p ? '' : ', no probe result'}: ${errorLine(stderr)}`,
        stderr: stderr.trim(),
      });
    });
  });
}

// ---------------------------------------------------------------- machine
const cpuModel = (() => {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? cpus()[0]?.model;
  } catch {
    return cpus()[0]?.model;
  }
})();
const sysInfo = `${availableParallelism()} cores, ${cpuModel ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}`;
console.log(`node under test: ${nodeInfo.v} (V8 ${nodeInfo.v8}, ${nodeInfo.arch}) at ${opts.node}`);
console.log(`machine:         ${sysInfo}`);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`load average:    ${load()} (1/5/15 min)${loadavg()[0] > availableParallelism() / 2 ? ' -- the machine is busy: wall times will be noisy' : ''}`);
console.log(`ours:            ${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version}, dist/ ${distBefore.hash}, built ${new Date(distBefore.newest).toISOString()}`);
console.log(`rounds:          ${opts.rounds} timed (alternating) + 1 untimed file-count round; sink ${endpoint}`);
if (Object.keys(opts.env).length) console.log(`extra env:       ${Object.entries(opts.env).map(([k, v]) => `${k}=${v}`).join(' ')}`);

// ---------------------------------------------------------------- run
const active = opts.workloads.map((w) => [w, WORKLOADS[w]]);
const results = {}; // `${w}/${id}` -> { runs: [], countRun }
for (const [w, def] of active) for (const v of def.variants) results[`${w}/${v.id}`] = { runs: [], countRun: undefined };
const problems = new Map(); // variant key -> { n, first }
const problem = (key, what) => {
  const p = problems.get(key);
  if (p) p.n++;
  else problems.set(key, { n: 1, first: what });
};

const started = Date.now();
// Round 0: file counts (load hook on), also warms the page cache; not timed.
for (const [w, def] of active) {
  for (const v of def.variants) {
    let r = await runOnce(v, '1');
    const ourWarning = /otel-autoinstrument: (warning|error)/;
    if (!r.ok || ourWarning.test(r.stderr)) {
      // On some Node versions (22.15) the probe's load hook breaks the run or ours' ESM hook:
      // count from require.cache instead (CommonJS only), marked with "~" in the table.
      const fallback = await runOnce(v, 'cache');
      if (fallback.ok && !(r.ok && ourWarning.test(fallback.stderr))) {
        fallback.approx = true;
        fallback.stderr = `load-hook count ${r.ok ? 'changed the run' : 'failed'} (${r.ok ? errorLine(r.stderr) : r.problem}); counted require.cache only`;
        r = fallback;
      } else if (!r.ok) problem(`${w}/${v.id}`, `count pass: ${r.problem}`);
    }
    results[`${w}/${v.id}`].countRun = r;
  }
}
for (let round = 0; round < opts.rounds; round++) {
  for (const [w, def] of active) {
    for (const v of def.variants) {
      const r = await runOnce(v);
      results[`${w}/${v.id}`].runs.push(r);
      if (!r.ok) problem(`${w}/${v.id}`, `round ${round + 1}: ${r.problem}`);
    }
  }
  if (process.stderr.isTTY) process.stderr.write(`\rround ${round + 1}/${opts.rounds}`);
}
if (process.stderr.isTTY) process.stderr.write(`\r${' '.repeat(30)}\r`);
const elapsed = ((Date.now() - started) / 1000).toFixed(0);
const distChanged = distStamp().hash !== distBefore.hash;
const loadAfter = load();
sink.close();
rmSync(tmp, { recursive: true, force: true });

// ---------------------------------------------------------------- stats + report
function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function quantile(xs, q) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}

function summarize(key) {
  const { runs, countRun } = results[key];
  const ok = runs.filter((r) => r.ok);
  const wall = ok.map((r) => r.wallMs);
  return {
    n: ok.length,
    of: runs.length,
    wall: median(wall),
    wallQ1: quantile(wall, 0.25),
    wallQ3: quantile(wall, 0.75),
    cpu: median(ok.map((r) => r.cpuMs)),
    rss: median(ok.map((r) => r.rssMiB)),
    posts: median(ok.map((r) => r.posts)),
    files: countRun?.ok ? countRun.files.length : NaN,
    filesApprox: Boolean(countRun?.approx),
    fileList: countRun?.ok ? countRun.files : [],
  };
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : '-');
function table(rows, header) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** node_modules package dir of a file ("a/node_modules/b" when nested), or a repo-relative group. */
function packageOf(url) {
  const p = fileURLToPath(url);
  const parts = p.split(`${sep}node_modules${sep}`);
  if (parts.length > 1) {
    const names = parts.slice(1).map((seg) => {
      const s = seg.split(sep);
      return s[0].startsWith('@') ? `${s[0]}/${s[1]}` : s[0];
    });
    return names.join(' > ');
  }
  const rel = relative(root, p);
  if (rel.startsWith('..')) return p;
  const top = rel.split(sep)[0];
  return top === 'bench' ? '(bench app)' : `otel-autoinstrument ${top}/`;
}

const summary = {};
const targetLines = [];
for (const [w, def] of active) {
  const rows = [];
  for (const v of def.variants) {
    const s = (summary[`${w}/${v.id}`] = summarize(`${w}/${v.id}`));
    const b = v.base ? summarize(`${w}/${v.base}`) : undefined;
    rows.push([
      v.label,
      `${fmt(s.wall)} (${fmt(s.wallQ1)}-${fmt(s.wallQ3)})`,
      b ? ratio(s.wall, b.wall) : '1.00x',
      fmt(s.cpu),
      b ? ratio(s.cpu, b.cpu) : '1.00x',
      fmt(s.rss, 1),
      b ? ratio(s.rss, b.rss) : '1.00x',
      `${s.filesApprox ? '~' : ''}${fmt(s.files)}`,
      b ? ratio(s.files, b.files) : '1.00x',
      fmt(s.posts),
      s.n === s.of ? `${s.n}` : `${s.n}/${s.of}`,
    ]);
    const yes = (c) => (c ? 'met' : 'NOT met');
    if (w === 'express' && v.ours && b) {
      const wr = s.wall / b.wall;
      const cr = s.cpu / b.cpu;
      const rr = s.rss / b.rss;
      targetLines.push(
        `  ${v.label.padEnd(22)} wall ${wr.toFixed(2)}x <= ${TARGETS.wall}x: ${yes(wr <= TARGETS.wall)};  CPU ${cr.toFixed(2)}x <= ${TARGETS.cpu}x: ${yes(cr <= TARGETS.cpu)};  ` +
          `peak RSS ${rr.toFixed(2)}x <= ${TARGETS.rss}x: ${yes(rr <= TARGETS.rss)}`,
      );
    }
    if (w === 'empty' && v.ours && b) {
      const wr = s.wall / b.wall;
      targetLines.push(`  ${`node -e 0, ${v.label}`.padEnd(22)} wall ${wr.toFixed(2)}x <= ${TARGETS.emptyWall}x: ${yes(wr <= TARGETS.emptyWall)}`);
    }
  }
  console.log(`\n${def.title} — medians over ${opts.rounds} rounds; ratios vs plain node running the same program`);
  console.log(table(rows, ['variant', 'wall ms (IQR)', 'x', 'CPU ms', 'x', 'RSS MiB', 'x', 'files', 'x', 'POSTs', 'runs ok']));
}

if (targetLines.length) {
  console.log('\nissue targets for ours (issue 24; information only):');
  console.log(targetLines.join('\n'));
}

if (opts.top > 0) {
  console.log('\nfiles loaded per package (file-count pass), largest groups:');
  for (const [w, def] of active) {
    for (const v of def.variants) {
      if (!v.base) continue;
      const s = summary[`${w}/${v.id}`];
      if (!s.fileList.length) continue;
      const counts = new Map();
      for (const f of s.fileList) counts.set(packageOf(f), (counts.get(packageOf(f)) ?? 0) + 1);
      const sorted = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      const shown = sorted.slice(0, opts.top);
      const rest = sorted.slice(opts.top).reduce((n, [, c]) => n + c, 0);
      console.log(`  ${w} / ${v.label}: ${s.files} files in ${counts.size} groups`);
      for (const [pkg, c] of shown) console.log(`    ${String(c).padStart(5)}  ${pkg}`);
      if (rest) console.log(`    ${String(rest).padStart(5)}  (${sorted.length - shown.length} other groups)`);
    }
  }
}

const noisy = [];
for (const [key, r] of Object.entries(results)) {
  const withErr = [r.countRun, ...r.runs].filter((x) => x?.ok && x.stderr);
  if (withErr.length) noisy.push(`  ${key}: ${withErr.length} run(s) wrote to stderr; first line: ${withErr[0].stderr.split('\n')[0].slice(0, 160)}`);
}
if (noisy.length) console.log(`\nstderr from successful runs:\n${noisy.join('\n')}`);
if (problems.size) {
  console.log('\nfailed runs (left out of the medians and file counts):');
  for (const [key, p] of problems) console.log(`  ${key}: ${p.n} run(s); first, ${p.first}`);
}
console.log(`\n${elapsed} s total; load average at the end ${loadAfter}.`);
console.log('wall = spawn to exit (parent clock), median and interquartile range; CPU = user+system and RSS = maxRSS of the');
console.log("child at 'exit'; files = unique file: URLs loaded (untimed count pass); POSTs = requests the local OTLP sink got per run.");

if (distChanged) console.log('\nWARNING: dist/ changed during the run; the numbers mix two builds. Run again.');

{
  const sum = Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, { wall: v.wall, wallQ1: v.wallQ1, wallQ3: v.wallQ3, cpu: v.cpu, rss: v.rss, files: v.files, posts: v.posts, n: v.n, of: v.of }]));
  const command = `node bench/startup.mjs ${process.argv.slice(2).join(' ')}`.trim();
  // A run with extra env is an experiment: its own section, so it never replaces the default run's.
  // So does a run of some variants only (--variant).
  const parts = [...Object.entries(opts.env).map(([k, v]) => `${k}=${v}`), ...(opts.variants.length ? [`variants=${opts.variants.join(',')}`] : [])];
  const section = opts.saveAs ?? (parts.length ? `startup ${parts.join(' ')}` : 'startup');
  console.log(`results: ${saveResults(section, nodeInfo.v, { node: nodeInfo, machine: sysInfo, command, rounds: opts.rounds, env: opts.env, dist: distBefore.hash, distChanged, summary: sum })}`);
}
if (opts.json) {
  const raw = { node: nodeInfo, nodePath: opts.node, machine: sysInfo, rounds: opts.rounds, env: opts.env, dist: distBefore.hash, distChanged, results: {} };
  for (const [k, r] of Object.entries(results)) {
    raw.results[k] = {
      runs: r.runs.map(({ ok, wallMs, cpuMs, rssMiB, posts, problem }) => ({ ok, wallMs, cpuMs, rssMiB, posts, problem })),
      files: r.countRun?.files ?? null,
    };
  }
  writeFileSync(opts.json, JSON.stringify(raw, null, 1));
  console.log(`raw results: ${opts.json}`);
}
process.exit(0);
