import type { ResourceLike, ScopeLike, SpanLike } from './types';

/** The spans of one instrumentation scope; `scope` is the first span's. */
export interface ScopeGroup {
  readonly scope: ScopeLike;
  readonly spans: SpanLike[];
}

export interface ResourceGroup {
  readonly resource: ResourceLike;
  readonly scopes: ScopeGroup[];
  readonly byObject: Map<ScopeLike, ScopeGroup>;
  readonly byKey: Map<string, ScopeGroup>;
}

/**
 * Spans grouped by resource (the same object, as upstream groups them), then by scope name,
 * version and schema URL, in order of first appearance. That is upstream's JSON grouping; its
 * protobuf writer groups by scope object, which differs only when two equal scopes are distinct
 * objects (upstream's tracer provider hands out one scope object per name, version and schema).
 * The key string is built once per scope object, not per span.
 */
export function groupSpans(spans: readonly SpanLike[]): ResourceGroup[] {
  const out = new Map<ResourceLike, ResourceGroup>();
  let rg: ResourceGroup | undefined;
  let lastScope: ScopeLike | undefined;
  let group: ScopeGroup | undefined;
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    const scope = span.instrumentationScope;
    const resource = span.resource;
    if (rg === undefined || rg.resource !== resource) {
      rg = out.get(resource);
      if (rg === undefined) {
        rg = { resource, scopes: [], byObject: new Map(), byKey: new Map() };
        out.set(resource, rg);
      }
      lastScope = undefined;
    }
    if (scope !== lastScope || group === undefined) {
      group = rg.byObject.get(scope);
      if (group === undefined) {
        const key = `${scope.name}@${scope.version || ''}:${scope.schemaUrl || ''}`;
        group = rg.byKey.get(key);
        if (group === undefined) {
          group = { scope, spans: [] };
          rg.scopes.push(group);
          rg.byKey.set(key, group);
        }
        rg.byObject.set(scope, group);
      }
      lastScope = scope;
    }
    group.spans.push(span);
  }
  return [...out.values()];
}
