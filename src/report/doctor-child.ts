import { renameSync, writeFileSync } from 'node:fs';
import { errorText, type Logger } from '../log';
import { redactDeep } from '../redact';
import type { StartupReport } from './startup';

/** How often the report file is refreshed while the command runs (the doctor may kill it). */
const REFRESH_MS = 250;

/**
 * Under `otel-instrument doctor`: the report goes to `file` now, every REFRESH_MS (unref'd, so it
 * never holds the process) and at exit. Each write replaces the file whole (write, then rename),
 * so the doctor never reads half a report. Only the first process to claim the file writes it:
 * a child process of the command (npm's, say) inherits the variable too.
 */
export function writeDoctorReports(file: string, report: () => StartupReport, log: Logger): void {
  let failed = false;
  const write = (): void => {
    if (failed) return;
    try {
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(redactDeep(report())));
      renameSync(tmp, `${file}.${process.pid}.json`);
    } catch (err) {
      failed = true;
      log.debug(`doctor report to ${file}: ${errorText(err)}`);
    }
  };
  write();
  setInterval(write, REFRESH_MS).unref();
  process.once('exit', write);
}
