// The other launchers and the load generator, shared by the benches. They live in
// bench/launchers/ (own package.json and lockfile, never in the root's dependencies) and are
// installed on first use with `npm ci --prefix bench/launchers`, which downloads about 190 MB once.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const LAUNCHERS_DIR = join(here, 'launchers');
const INSTALL_TIMEOUT_MS = 10 * 60_000;
// Upstream and EDOT run the cloud detectors (aws, gcp, azure, alibaba) by default; they probe
// metadata addresses off this machine. EDOT reads the same variable.
const LOCAL_DETECTORS = 'env,host,os,process,serviceinstance';

/** Installs bench/launchers/node_modules when missing or older than its lockfile; true when usable. */
export function ensureLaunchers(log = console.log) {
  const lock = join(LAUNCHERS_DIR, 'package-lock.json');
  const marker = join(LAUNCHERS_DIR, 'node_modules', '.package-lock.json');
  if (process.env.BENCH_SKIP_INSTALL) return existsSync(marker);
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return true;
  // Under `npm run`, the npm that runs us; run by the node running the bench (npm resolves
  // packages' engines against the running node).
  const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
  log(`bench: installing the launchers and autocannon (npm ci --prefix bench/launchers, first run only, ~190 MB)...`);
  const r = spawnSync(npm[0], [...npm[1], 'ci', '--prefix', LAUNCHERS_DIR, '--no-audit', '--no-fund', '--loglevel=error'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: INSTALL_TIMEOUT_MS,
  });
  if (r.status !== 0) {
    log(`bench: npm ci --prefix bench/launchers failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`}); the other launchers are left out`);
    return false;
  }
  return true;
}

const req = createRequire(join(LAUNCHERS_DIR, 'package.json'));

/** Absolute path of a module installed in bench/launchers, or undefined. */
export function resolveLauncher(id) {
  try {
    return req.resolve(id);
  } catch {
    return undefined;
  }
}

export function loadAutocannon() {
  return req('autocannon');
}

/**
 * Environment that keeps a launcher local and comparable: traces only, over OTLP to `endpoint`,
 * every request sampled, no cloud resource detector, no vendor agent, telemetry or remote config;
 * then what `variant` (a key of LAUNCHER_LABELS) sets (VARIANT_ENV).
 */
export function launcherEnv(endpoint, variant) {
  return {
    ...launcherBaseEnv(endpoint),
    ...VARIANT_ENV[variant],
    // Whatever a variant sets, the cloud detectors stay off.
    OTEL_NODE_RESOURCE_DETECTORS: LOCAL_DETECTORS,
  };
}

function launcherBaseEnv(endpoint) {
  return {
    OTEL_SERVICE_NAME: 'bench',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_TRACES_SAMPLER: 'always_on',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_NODE_RESOURCE_DETECTORS: LOCAL_DETECTORS,
    // dd-trace: OTLP traces (it speaks http/json only), all sampled, nothing else on.
    DD_TRACE_SAMPLE_RATE: '1',
    DD_TRACE_STARTUP_LOGS: 'false',
    DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
    DD_REMOTE_CONFIGURATION_ENABLED: 'false',
    DD_RUNTIME_METRICS_ENABLED: 'false',
    DD_CRASHTRACKING_ENABLED: 'false',
    DD_PROFILING_ENABLED: 'false',
    DD_DATA_STREAMS_ENABLED: 'false',
    DD_TRACE_STATS_COMPUTATION_ENABLED: 'false',
    DD_AGENT_HOST: '127.0.0.1',
    DD_TRACE_AGENT_URL: endpoint,
  };
}

/**
 * Preload flags per variant for a CommonJS app (`--require`), or undefined when the launcher is
 * not installed. `ours` needs bench/apps/node_modules/otel-autoinstrument (startup.mjs links it).
 */
export function launcherFlags(root) {
  const edot = resolveLauncher('@elastic/opentelemetry-node');
  const dd = resolveLauncher('dd-trace/init');
  const ours = ['--require', join(root, 'register', 'index.cjs')];
  return {
    plain: [],
    ours,
    'ours-sdk': ours,
    'ours-upstream-http': ours,
    'ours-upstream-express': ours,
    'ours-bsp': ours,
    upstream: ['--require', '@opentelemetry/auto-instrumentations-node/register'],
    edot: edot && ['--require', edot],
    ddtrace: dd && ['--require', dd],
    'ddtrace-all': dd && ['--require', dd],
  };
}

/**
 * What a variant sets over launcherEnv(), each on top of the same local, traces-only setup.
 * - ours-sdk: upstream's SDK path behind our hook instead of our own tracer (OTEL_NODE_TRACER,
 *   docs/configuration.md).
 * - ours-upstream-http: instrumentation-http traces incoming requests too, as before our own
 *   server instrumentation (OTEL_NODE_HTTP_SERVER_INSTRUMENTATION, docs/http-server.md).
 * - ours-upstream-express: instrumentation-express as it is, without our per-request layer
 *   patch (OTEL_NODE_EXPRESS_INSTRUMENTATION, docs/express.md).
 * - ours-bsp: our tracer with upstream's BatchSpanProcessor, which keeps span objects until
 *   export, instead of encoding each span as it ends (OTEL_NODE_TRACES_ENCODE_AT_END=false).
 * - ddtrace-all: dd-trace's sampler keeps every trace. At its defaults its sampling rule has a
 *   rate limiter of DD_TRACE_RATE_LIMIT = 100 traces per second (dd-trace 6.21.0,
 *   packages/dd-trace/src/priority_sampler.js; a negative limit is "unlimited",
 *   src/rate_limiter.js), so under load it drops almost every trace before export and does
 *   less work than the OTel launchers, which export every one.
 */
export const VARIANT_ENV = {
  'ours-sdk': { OTEL_NODE_TRACER: 'sdk' },
  'ours-upstream-http': { OTEL_NODE_HTTP_SERVER_INSTRUMENTATION: 'upstream' },
  'ours-upstream-express': { OTEL_NODE_EXPRESS_INSTRUMENTATION: 'upstream' },
  'ours-bsp': { OTEL_NODE_TRACES_ENCODE_AT_END: 'false' },
  'ddtrace-all': { DD_TRACE_RATE_LIMIT: '-1' },
};

export const LAUNCHER_LABELS = {
  plain: 'plain node',
  ours: 'ours --require',
  'ours-sdk': 'ours, OTEL_NODE_TRACER=sdk',
  'ours-upstream-http': 'ours, OTEL_NODE_HTTP_SERVER_INSTRUMENTATION=upstream',
  'ours-upstream-express': 'ours, OTEL_NODE_EXPRESS_INSTRUMENTATION=upstream',
  'ours-bsp': 'ours, OTEL_NODE_TRACES_ENCODE_AT_END=false',
  upstream: 'upstream register',
  edot: 'EDOT Node.js',
  ddtrace: 'dd-trace default (rate-limited, ~100 traces/s)',
  'ddtrace-all': 'dd-trace DD_TRACE_RATE_LIMIT=-1 (every trace)',
};
