import type { Config } from '../config/parse';

export type RuntimeGroup = 'gc' | 'heap' | 'eventloop' | 'resources';
export type RuntimeExtra = 'gc_time' | 'gc_reclaimed';

export interface RuntimePlan {
  readonly groups: ReadonlySet<RuntimeGroup>;
  readonly extras: ReadonlySet<RuntimeExtra>;
  readonly resolutionMs: number;
  readonly windowMs: number;
  /** Upstream's runtime-node instrumentation runs instead of ours. */
  readonly upstream: boolean;
  readonly warnings: readonly string[];
}

const ALL_GROUPS: readonly RuntimeGroup[] = ['gc', 'heap', 'eventloop', 'resources'];
const ALL_EXTRAS: readonly RuntimeExtra[] = ['gc_time', 'gc_reclaimed'];
const NONE: RuntimePlan = { groups: new Set(), extras: new Set(), resolutionMs: 10, windowMs: 60000, upstream: false, warnings: [] };

/**
 * Which runtime metrics run, ours or upstream's runtime-node (never both: they share metric names).
 * Ours, unless runtime-node is named in OTEL_NODE_ENABLED_INSTRUMENTATIONS while
 * OTEL_NODE_RUNTIME_METRICS is left unset; naming runtime-node in
 * OTEL_NODE_DISABLED_INSTRUMENTATIONS (upstream's way to turn runtime metrics off) turns ours off too.
 */
export function runtimePlan(config: Config): RuntimePlan {
  const v = config.values;
  if (v.OTEL_METRICS_EXPORTER.every((e) => e === 'none')) return NONE;
  const ours = config.sources.OTEL_NODE_RUNTIME_METRICS !== 'default';
  const warnings: string[] = [];
  let upstream = false;
  let groups = new Set<RuntimeGroup>(v.OTEL_NODE_RUNTIME_METRICS.includes('all') ? ALL_GROUPS : ALL_GROUPS.filter((g) => v.OTEL_NODE_RUNTIME_METRICS.includes(g)));
  if (v.OTEL_NODE_RUNTIME_METRICS.includes('none')) groups = new Set();
  if (v.OTEL_NODE_DISABLED_INSTRUMENTATIONS.includes('runtime-node') && !ours) groups = new Set();
  else if (v.OTEL_NODE_ENABLED_INSTRUMENTATIONS.includes('runtime-node')) {
    if (ours && groups.size > 0) {
      warnings.push(
        'OTEL_NODE_ENABLED_INSTRUMENTATIONS names runtime-node and OTEL_NODE_RUNTIME_METRICS is set: both emit the same v8js.* and nodejs.* metrics, so only ours run; leave OTEL_NODE_RUNTIME_METRICS unset to use runtime-node instead',
      );
    } else if (groups.size > 0) {
      upstream = true;
      groups = new Set();
      warnings.push(
        'OTEL_NODE_ENABLED_INSTRUMENTATIONS names runtime-node: it emits the runtime metrics instead of otel-autoinstrument\'s own (which count every GC and add a mergeable event-loop delay histogram); leave runtime-node out to use ours',
      );
    }
  }
  const extrasVar = v.OTEL_NODE_RUNTIME_METRICS_EXTRAS;
  const extras = new Set<RuntimeExtra>(upstream || extrasVar.includes('none') ? [] : extrasVar.includes('all') ? ALL_EXTRAS : ALL_EXTRAS.filter((e) => extrasVar.includes(e)));
  const resolutionMs = v.OTEL_NODE_RUNTIME_METRICS_EVENTLOOP_RESOLUTION ?? 10;
  const windowMs = v.OTEL_NODE_RUNTIME_METRICS_WINDOW ?? v.OTEL_METRIC_EXPORT_INTERVAL ?? 60000;
  return { groups, extras, resolutionMs, windowMs, upstream, warnings };
}
