import type { Logger } from './log';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
type Sig = (typeof SIGNALS)[number];

/** How long an exit or a signal may wait for the flush before the process goes the way it would have gone. */
const FLUSH_DEADLINE_MS = 5000;

/**
 * Flushes on normal exit and on SIGTERM/SIGINT without changing how the process ends:
 * - beforeExit: one flush, for at most FLUSH_DEADLINE_MS unless the app has beforeExit work;
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
  process.once('beforeExit', () => {
    if (flushed) return;
    flushed = true;
    // Ours is a once-listener, already removed: any listener left is the app's, about to run.
    const appHasWork = process.listenerCount('beforeExit') > 0;
    // Exports never hold the loop (unref'd sockets and backoffs), so this timer is what keeps
    // the process alive while the flush runs, cleared as soon as it is done. At the deadline
    // the process ends with the exit code it was about to have anyway, unless the app does
    // beforeExit work of its own, which we must not cut short.
    const timer = setTimeout(() => {
      if (!appHasWork) process.exit();
    }, FLUSH_DEADLINE_MS);
    void flushOnce().finally(() => clearTimeout(timer));
  });

  for (const sig of SIGNALS) {
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
  }
}

function reraise(sig: Sig, handler: () => void): void {
  process.removeListener(sig, handler);
  // Someone added a handler while we flushed: the signal is theirs now.
  if (process.listenerCount(sig) > 0) return;
  process.kill(process.pid, sig);
}
