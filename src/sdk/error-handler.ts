let installed = false;

/** Our ExportFailure, as the batch processors pass it on or the metric reader quotes it. */
function isCountedFailure(ex: unknown): boolean {
  if (ex === null || typeof ex !== 'object') return false;
  const e = ex as { name?: unknown; message?: unknown };
  // PeriodicExportingMetricReader wraps it: "metrics export failed (error OtlpExportFailure: ...)".
  return e.name === 'OtlpExportFailure' || (typeof e.message === 'string' && e.message.includes('OtlpExportFailure: '));
}

/**
 * The SDK sends every failed batch to @opentelemetry/core's global error handler, which prints
 * it: one line per failed export, with a stack. Failures of our OTLP exporters are already
 * counted and reported by export-stats, at most once a minute; everything else still goes to
 * upstream's logging handler (and so through our diag logger). Installed with the first OTLP
 * exporter, when core is loaded anyway.
 */
export function installExportErrorHandler(): void {
  if (installed) return;
  installed = true;
  const core = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const fallback = core.loggingErrorHandler();
  core.setGlobalErrorHandler((ex) => {
    if (!isCountedFailure(ex)) fallback(ex);
  });
}
