import type { Logger } from './log';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
type Sig = (typeof SIGNALS)[number];

/** How long an exit or a signal may wait for the flush before the process goes the way it would have gone. */
const FLUSH_DEADLINE_MS = 5000;

/**
 * Flushes on normal exit and on SIGTERM/SIGINT without changing how the process ends:
 * - beforeExit: one flush, for at most FLUSH_DEADLINE_MS unless the app has beforeExit work; the
 *   app's beforeExit listeners run as often as they would without us;
 * - a signal with app handlers: they decide; we only flush alongside;
 * - a signal with no app handler: flush (bounded), then re-raise it so the exit status is
 *   the same 128+signal it would have been. A second signal while flushing re-raises at once.
 */
export function installShutdown(flush: () => Promise<void>, log: Logger, atExit: (flushed: boolean) => void = () => undefined): void {
  let flushed = false;
  // One flush, whoever asks first: a signal during the beforeExit flush waits for that one
  // instead of shutting the providers down a second time.
  let flushing: Promise<void> | undefined;
  const flushOnce = (): Promise<void> => (flushing ??= flush().catch(() => undefined));
  // Synchronous only: process.exit(), an uncaught exception, or the end of our own flush
  // (the argument tells which: whether an asynchronous flush was started).
  process.once('exit', () => atExit(flushing !== undefined));
  // Ours stays first and stays registered: the drain our own exit work causes is seen by it, and
  // the app's listeners, which had their emission, are held back from that one (Node emits
  // beforeExit again whenever a listener leaves work behind).
  let held: Array<(...args: unknown[]) => void> | undefined;
  const onBeforeExit = (): void => {
    if (held !== undefined) {
      // emit() has already copied its listener list: the app's come back without running now.
      for (const l of held) process.on('beforeExit', l);
      held = undefined;
      process.removeListener('beforeExit', onBeforeExit);
      return;
    }
    if (flushed) return;
    flushed = true;
    // The loop has just drained: what is listed as active now (stdio pipes among them) is not work.
    const idle = activeResources();
    const appHasWork = (): boolean => [...activeResources()].some(([type, n]) => n > (idle.get(type) ?? 0));
    // Exports never hold the loop (unref'd sockets and backoffs), so this timer is what keeps
    // the process alive while the flush runs, cleared as soon as it is done. At the deadline
    // the process ends with the exit code it was about to have anyway, unless the app has left
    // work of its own (its beforeExit listeners may have), which we must not cut short.
    // (Checked from an immediate: a timer's own callback still counts it as active.)
    const timer = setTimeout(() => setImmediate(() => appHasWork() || process.exit()), FLUSH_DEADLINE_MS);
    // One more turn of the loop, whatever the flush does, while a signal has no handler but ours:
    // a signal that arrived after the loop's last poll (raised by the main module, a timer or an
    // immediate) is delivered only by a poll. Without our listener it would have ended the
    // process; now ours gets to re-raise it. (With an app handler plain node loses it as well.)
    const turn = SIGNALS.some((sig) => process.listenerCount(sig) <= 1) ? new Promise((r) => setImmediate(r)) : undefined;
    void Promise.all([flushOnce(), turn]).finally(() => {
      clearTimeout(timer);
      if (appHasWork()) {
        // The app left work of its own: the next drain is its too, so its listeners run.
        process.removeListener('beforeExit', onBeforeExit);
        return;
      }
      held = process.rawListeners('beforeExit').filter((l) => l !== onBeforeExit) as Array<(...args: unknown[]) => void>;
      for (const l of held) process.removeListener('beforeExit', l);
    });
  };
  process.prependListener('beforeExit', onBeforeExit);

  const listen = (sig: Sig): void => {
    let pending = false;
    const onSignal = (): void => {
      const appHandlers = process.listenerCount(sig) - 1;
      if (appHandlers > 0) {
        if (!flushed) {
          flushed = true;
          void flushOnce();
        }
        return;
      }
      if (pending) return reraise(sig, onSignal);
      pending = true;
      log.debug(`${sig}: flushing telemetry before exit`);
      const timer = setTimeout(() => reraise(sig, onSignal), FLUSH_DEADLINE_MS);
      void flushOnce().finally(() => {
        clearTimeout(timer);
        reraise(sig, onSignal);
      });
    };
    process.on(sig, onSignal);
  };
  // Not before the main module has run: a signal that arrives while it runs ends the process
  // there and then, by the default action, as it would without us.
  setImmediate(() => SIGNALS.forEach(listen)).unref();
}

/** How many of each kind of resource keep the event loop open now. */
function activeResources(): Map<string, number> {
  const out = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) out.set(type, (out.get(type) ?? 0) + 1);
  return out;
}

function reraise(sig: Sig, handler: () => void): void {
  process.removeListener(sig, handler);
  // Someone added a handler while we flushed: the signal is theirs now.
  if (process.listenerCount(sig) > 0) return;
  process.kill(process.pid, sig);
}
