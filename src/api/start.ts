import { createLogger, errorText, type LogLevel } from '../log';
import { optionLayer, type StartOptions } from '../options';
import { claimStart, type Entry, type Handle } from '../start';

const BY: Record<Entry, string> = { import: 'the --import register hook', require: 'the --require register hook', api: 'an earlier start()' };
let warned = false;

/**
 * Starts OpenTelemetry from code: `start({ serviceName: 'shop' })` on the app's first line.
 * Each option is an OTEL_* variable (camel-cased, without OTEL_) and wins over the environment;
 * a bad value gets the same one warning as in the environment. Never throws. Once per process:
 * a later call warns once and returns the first call's handle, whichever entry made it.
 */
export function start(options: StartOptions = {}): Handle {
  let first = true;
  let handle: Handle | undefined;
  try {
    const { layer, warnings } = optionLayer(options as Readonly<Record<string, unknown>>);
    ({ first, handle } = claimStart({
      entry: 'api',
      ...(options.env ? { env: options.env } : {}),
      top: layer,
      ...(options.instrumentations ? { instrumentations: options.instrumentations } : {}),
      warnings,
    }));
  } catch (err) {
    // optionLayer on a hostile options object (a throwing getter): run uninstrumented, say why.
    handle = claimStart({ entry: 'api', warnings: [`start() options could not be read (${errorText(err)}); using the environment only`] }).handle;
  }
  if (!first && !warned) {
    warned = true;
    const level = (handle.config?.values.OTEL_LOG_LEVEL ?? 'info') as LogLevel;
    createLogger(level).warn(`start() was already called, by ${BY[handle.entry]}: this call's options are ignored and the first handle is returned`);
  }
  return handle;
}
