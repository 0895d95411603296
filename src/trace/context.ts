import type { Context } from '@opentelemetry/api';

// A cheaper Context for the contexts we derive per request (the server span's, a tracer's
// startActiveSpan, and every context derived from those: each Express layer's setSpan).
// @opentelemetry/api 1.10's BaseContext copies its Map and makes three closures on every
// setValue (about 250 bytes each, measured with bench/alloc.mjs); here a setValue is one small
// object linked to the context it came from. Reads walk the links, then ask the context the
// chain started from. The chain is cut at MAX_LINKS: the entries are then copied into one Map
// over that same base, so a long-lived context keeps at most MAX_LINKS older contexts' values
// alive, as a Map copy would keep them. Context is an interface in the API (getValue, setValue,
// deleteValue); nothing reads BaseContext's private map.

const MAX_LINKS = 8;
/** What deleteValue leaves: reads as undefined, as a deleted Map entry does. */
const DELETED = undefined;

abstract class Derived implements Context {
  abstract getValue(key: symbol): unknown;

  setValue(key: symbol, value: unknown): Context {
    return this.links() < MAX_LINKS ? new Linked(this, key, value) : this.flatten(key, value);
  }

  deleteValue(key: symbol): Context {
    return this.setValue(key, DELETED);
  }

  protected abstract links(): number;
  /** The entries of this context and one more, in one Map over the base. */
  protected abstract flatten(key: symbol, value: unknown): Context;
}

/** Entries in one Map over a context we cannot enumerate (the API's, or another manager's). */
class Flat extends Derived {
  constructor(
    readonly base: Context,
    readonly map: Map<symbol, unknown>,
  ) {
    super();
  }

  getValue(key: symbol): unknown {
    const v = this.map.get(key);
    if (v !== undefined || this.map.has(key)) return v;
    return this.base.getValue(key);
  }

  protected links(): number {
    return 0;
  }

  protected flatten(key: symbol, value: unknown): Context {
    return new Flat(this.base, new Map(this.map).set(key, value));
  }
}

class Linked extends Derived {
  private readonly n: number;

  constructor(
    readonly parent: Context,
    readonly key: symbol,
    readonly value: unknown,
  ) {
    super();
    this.n = parent instanceof Linked ? parent.n + 1 : 1;
  }

  getValue(key: symbol): unknown {
    let c: Context = this;
    while (c instanceof Linked) {
      if (c.key === key) return c.value;
      c = c.parent;
    }
    return c.getValue(key);
  }

  protected links(): number {
    return this.n;
  }

  protected flatten(key: symbol, value: unknown): Context {
    const chain: Linked[] = [];
    let c: Context = this;
    while (c instanceof Linked) {
      chain.push(c);
      c = c.parent;
    }
    const base = c instanceof Flat ? c.base : c;
    const map = c instanceof Flat ? new Map(c.map) : new Map<symbol, unknown>();
    for (let i = chain.length - 1; i >= 0; i--) map.set(chain[i]!.key, chain[i]!.value);
    return new Flat(base, map.set(key, value));
  }
}

/** context.setValue(key, value), at the cost of one small object whatever context it is. */
export function withValue(context: Context, key: symbol, value: unknown): Context {
  return context instanceof Derived ? context.setValue(key, value) : new Linked(context, key, value);
}

// The API's own keys: createContextKey(description) is Symbol.for(description) (api 1.10
// context/context.ts), so these are the keys trace.getSpan and core's getRPCMetadata read.
// test/unit/lean-tracer.test.mjs checks both against the API and core.
/** @opentelemetry/api trace/context-utils.ts SPAN_KEY. */
export const SPAN_KEY = Symbol.for('OpenTelemetry Context Key SPAN');
/** @opentelemetry/core trace/rpc-metadata.ts RPC_METADATA_KEY. */
export const RPC_METADATA_KEY = Symbol.for('OpenTelemetry SDK Context Key RPC_METADATA');
