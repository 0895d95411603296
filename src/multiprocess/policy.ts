/** How one gauge's values from several processes and threads become what is exported. */
export const GAUGE_POLICIES = ['pid', 'sum', 'last', 'min', 'max'] as const;
export type GaugePolicy = (typeof GAUGE_POLICIES)[number];

const isPolicy = (s: string): s is GaugePolicy => (GAUGE_POLICIES as readonly string[]).includes(s);

/**
 * OTEL_NODE_MULTIPROCESS_GAUGE_POLICIES (name=policy, a name may end in *) over the default
 * policy. The longest matching pattern wins. A bad policy is one warning naming it and is ignored.
 */
export function gaugePolicies(fallback: GaugePolicy, perName: Readonly<Record<string, string>>, warn: (w: string) => void): (metric: string) => GaugePolicy {
  const exact = new Map<string, GaugePolicy>();
  const prefixes: Array<[string, GaugePolicy]> = [];
  for (const [name, raw] of Object.entries(perName)) {
    const policy = raw.trim().toLowerCase();
    if (!isPolicy(policy)) {
      warn(`OTEL_NODE_MULTIPROCESS_GAUGE_POLICIES: "${name}=${raw}" is not one of ${GAUGE_POLICIES.join(', ')}; ${name} uses ${fallback}`);
      continue;
    }
    if (name.endsWith('*')) prefixes.push([name.slice(0, -1), policy]);
    else exact.set(name, policy);
  }
  prefixes.sort((a, b) => b[0].length - a[0].length);
  const cache = new Map<string, GaugePolicy>();
  return (metric) => {
    let p = cache.get(metric);
    if (p === undefined) {
      p = exact.get(metric) ?? prefixes.find(([pre]) => metric.startsWith(pre))?.[1] ?? fallback;
      cache.set(metric, p);
    }
    return p;
  };
}
