import type { InstrumentationDescriptor } from './catalog/types';
import { CATALOG } from './catalog/catalog.generated';
import type { Values } from './config/table';

/** Names in the enable/disable lists that no instrumentation has, each in one warning. */
export function unknownInstrumentationNames(values: Values, known: readonly InstrumentationDescriptor[]): string[] {
  const names = new Set(known.map((d) => d.name));
  const out: string[] = [];
  for (const key of ['OTEL_NODE_ENABLED_INSTRUMENTATIONS', 'OTEL_NODE_DISABLED_INSTRUMENTATIONS'] as const) {
    const bad = values[key].filter((n) => !names.has(n));
    if (bad.length > 0) out.push(`${key} has ${bad.map((b) => `"${b}"`).join(', ')}, which no built-in or plugin instrumentation is called; ignored`);
  }
  return out;
}

/**
 * Which catalog entries this process loads, given the config. runtime-node only when
 * `upstreamRuntime` (see runtime/plan.ts): our own runtime metrics replace it otherwise.
 */
export function selectInstrumentations(values: Values, catalog: readonly InstrumentationDescriptor[] = CATALOG, upstreamRuntime = false): InstrumentationDescriptor[] {
  const only = values.OTEL_NODE_ENABLED_INSTRUMENTATIONS;
  const off = new Set(values.OTEL_NODE_DISABLED_INSTRUMENTATIONS);
  const metricsOff = values.OTEL_METRICS_EXPORTER.every((e) => e === 'none');
  const selected = catalog.filter((d) => {
    if (off.has(d.name)) return false;
    if (d.name === 'runtime-node' && !upstreamRuntime) return false;
    if (d.metricsOnly && metricsOff) return false;
    if (only.length > 0) return only.includes(d.name);
    if (!d.enabledByDefault) return false;
    if (d.activation === 'lambda') return values.AWS_LAMBDA_FUNCTION_NAME !== undefined;
    return true;
  });
  return values.OTEL_NODE_EXPRESS_ROUTER_SPANS ? selected : withoutExpressDuplicates(selected);
}

/**
 * Express 5 runs on the `router` package, and the express instrumentation wraps every layer of
 * the copy express loads (it patches that copy's Router.prototype.route and .use, and
 * app.use): the router instrumentation's spans on that copy repeat express's, one more span per
 * layer plus one per route. So router is not loaded for express's own resolve of `router`; an
 * app that resolves `router` itself still loads it (src/hooks/covered.ts).
 * Test: test/e2e/express-router.test.mjs.
 */
function withoutExpressDuplicates(selected: InstrumentationDescriptor[]): InstrumentationDescriptor[] {
  if (!selected.some((d) => d.name === 'express' && d.entry === undefined)) return selected;
  const coveredBy = { package: 'express', instrumentation: 'express', restore: 'OTEL_NODE_EXPRESS_ROUTER_SPANS=true' };
  return selected.map((d) => (d.name === 'router' && d.entry === undefined ? { ...d, coveredBy } : d));
}

