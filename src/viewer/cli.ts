// `otel-instrument --viewer <command>` and `otel-instrument viewer`: the viewer's side of the CLI.
import { Command, Option } from 'commander';
import { parseOrExit } from '../cli/parse-args';
import { runChild } from '../cli/run-child';
import { DEFAULT_LIMITS } from './store';
import { DEFAULT_VIEWER_PORT, startViewer, type Viewer } from './server';

const say = (line: string): void => {
  process.stderr.write(`otel-autoinstrument: ${line}\n`);
};

/** The viewer's flags, shared by `--viewer <command>` and `viewer`. */
export function addViewerOptions(program: Command, withSwitch: boolean): Command {
  const group = 'Local viewer (docs/viewer.md):';
  if (withSwitch) program.addOption(new Option('--viewer', 'run a local OTLP receiver and web page in this process and send the command\'s telemetry there').helpGroup(group));
  return program
    .addOption(new Option('--viewer-port <n>', `port of the viewer on 127.0.0.1; the next free one if taken; 0 for any (default: ${DEFAULT_VIEWER_PORT})`).helpGroup(group))
    .addOption(new Option('--viewer-max-traces <n>', `traces kept in memory, oldest dropped first (default: ${DEFAULT_LIMITS.maxTraces})`).helpGroup(group))
    .addOption(new Option('--viewer-max-bytes <n>', `bytes of spans kept in memory, oldest traces dropped first (default: ${DEFAULT_LIMITS.maxBytes})`).helpGroup(group));
}

interface ViewerFlags {
  readonly viewerPort?: string;
  readonly viewerMaxTraces?: string;
  readonly viewerMaxBytes?: string;
}

/** Parses the viewer's numeric flags; a bad one is a usage error naming it. */
function limits(opts: ViewerFlags): { port: number; maxTraces: number; maxBytes: number } | string {
  const read = (flag: string, v: string | undefined, def: number, min: number, max: number): number | string => {
    if (v === undefined) return def;
    const n = Number(v);
    return Number.isInteger(n) && n >= min && n <= max ? n : `${flag} ${v}: expected a whole number from ${min} to ${max}`;
  };
  const port = read('--viewer-port', opts.viewerPort, DEFAULT_VIEWER_PORT, 0, 65535);
  const maxTraces = read('--viewer-max-traces', opts.viewerMaxTraces, DEFAULT_LIMITS.maxTraces, 1, 1e7);
  const maxBytes = read('--viewer-max-bytes', opts.viewerMaxBytes, DEFAULT_LIMITS.maxBytes, 1024, 2 ** 40);
  for (const v of [port, maxTraces, maxBytes]) if (typeof v === 'string') return v;
  return { port: port as number, maxTraces: maxTraces as number, maxBytes: maxBytes as number };
}

/** Starts the viewer from the flags and prints its one line; a number is the exit code of a failure. */
export async function openViewer(opts: ViewerFlags): Promise<Viewer | number> {
  const l = limits(opts);
  if (typeof l === 'string') {
    say(l);
    return 2;
  }
  let viewer: Viewer;
  try {
    viewer = await startViewer(l);
  } catch (err) {
    say(`viewer: cannot listen on 127.0.0.1:${l.port}: ${(err as Error).message}`);
    return 1;
  }
  const moved = l.port !== 0 && viewer.port !== l.port ? ` (port ${l.port} was taken)` : '';
  say(`viewer at ${viewer.url}${moved}`);
  return viewer;
}

const SIGNALS = ['TRACES', 'METRICS', 'LOGS'] as const;

/**
 * The command's environment under the viewer: every OTLP exporter points at it over http/protobuf
 * (per-signal variables too, which would otherwise win), and batches go out often enough for a live
 * view unless the user chose their own intervals.
 */
export function viewerEnv(env: NodeJS.ProcessEnv, url: string): NodeJS.ProcessEnv {
  const base = url.replace(/\/$/, '');
  const out: NodeJS.ProcessEnv = { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: base, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' };
  for (const s of SIGNALS) {
    out[`OTEL_EXPORTER_OTLP_${s}_ENDPOINT`] = `${base}/v1/${s.toLowerCase()}`;
    out[`OTEL_EXPORTER_OTLP_${s}_PROTOCOL`] = 'http/protobuf';
  }
  const defaults: Record<string, string> = { OTEL_METRIC_EXPORT_INTERVAL: '5000', OTEL_BSP_SCHEDULE_DELAY: '500', OTEL_BLRP_SCHEDULE_DELAY: '500' };
  for (const [k, v] of Object.entries(defaults)) if (!out[k]?.trim()) out[k] = v;
  return out;
}

/** Keeps the viewer up after the command ended, until SIGINT/SIGTERM/SIGHUP; then closes it. */
export function serveUntilStopped(viewer: Viewer, line: string): Promise<void> {
  say(line);
  return new Promise((resolve) => {
    const stop = (): void => {
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(s, stop);
      void viewer.close().then(resolve);
    };
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, stop);
  });
}

/** `otel-instrument viewer [--viewer-port N ...]`: just the receiver and the page. */
export async function viewerOnly(argv: readonly string[]): Promise<number> {
  const program = addViewerOptions(new Command('otel-instrument viewer'), false)
    .description('Runs only the local viewer: an OTLP receiver (http/protobuf, http/json) and its web page on 127.0.0.1, for apps started some other way.')
    .helpOption('-h, --help', 'show this help')
    .exitOverride();
  const usage = parseOrExit(program, argv);
  if (usage !== undefined) return usage;
  const viewer = await openViewer(program.opts<ViewerFlags>());
  if (typeof viewer === 'number') return viewer;
  say(`send OTLP there: OTEL_EXPORTER_OTLP_ENDPOINT=${viewer.url.replace(/\/$/, '')} OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf (or http/json)`);
  await serveUntilStopped(viewer, 'Ctrl-C stops the viewer');
  return 0;
}

/** `otel-instrument --viewer <command>`: the viewer up first, the command pointed at it, its status returned. */
export async function runWithViewer(opts: ViewerFlags, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, sayCli: (line: string) => void): Promise<number> {
  const viewer = await openViewer(opts);
  if (typeof viewer === 'number') return viewer;
  // SIGTERM or SIGHUP (a supervisor, `timeout`, a closed terminal) ends the viewer with the command;
  // Ctrl-C ends only the command, so its last telemetry can still be looked at.
  let ended = false;
  const end = (): void => void (ended = true);
  for (const s of ['SIGTERM', 'SIGHUP'] as const) process.on(s, end);
  const code = await runChild(cmd, args, viewerEnv(env, viewer.url), sayCli);
  for (const s of ['SIGTERM', 'SIGHUP'] as const) process.removeListener(s, end);
  if (ended) await viewer.close();
  else await serveUntilStopped(viewer, `${cmd} exited (status ${code}); the viewer keeps serving at ${viewer.url} until Ctrl-C`);
  return code;
}
