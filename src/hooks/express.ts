// The `express` catalog entry, built two ways (issue 19). `lean` (the default): upstream's
// instrumentation-express with our per-request layer patch (src/instrumentations/express), the
// same spans at less cost. `upstream` (OTEL_NODE_EXPRESS_INSTRUMENTATION), or whenever ours cannot
// give the same spans (a config key it does not read, an instrumentation-express without the
// method it replaces): upstream's class as it is.
import type { LoadedInstrumentation } from './lazy-instrumentations';

export type ExpressMode = 'lean' | 'upstream';

/** What describes the express entry in the startup report and the doctor. */
export interface ExpressBuild {
  readonly instance: LoadedInstrumentation;
  readonly detail: string;
}

type Ctor = new (config: object) => LoadedInstrumentation;

export function buildExpress(Upstream: Ctor, config: Readonly<Record<string, unknown>>, mode: ExpressMode, loadLean: () => typeof import('../instrumentations/express')): ExpressBuild {
  const whole = (detail: string): ExpressBuild => ({ instance: new Upstream(config), detail });
  if (mode === 'upstream') return whole('layers: instrumentation-express (OTEL_NODE_EXPRESS_INSTRUMENTATION=upstream)');
  const lean = loadLean();
  const why = lean.unsupportedReason(config) ?? lean.incompatibleReason(Upstream);
  if (why !== undefined) return whole(`layers: instrumentation-express, because ${why}`);
  const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const core = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const Lean = lean.leanExpressClass(Upstream as never, api, core) as unknown as Ctor;
  return { instance: new Lean(config), detail: 'layers: instrumentation-express with our per-request layer patch (lean)' };
}
