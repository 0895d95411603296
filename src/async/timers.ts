import { syncBuiltinESMExports } from 'node:module';
import { Unit, type Recorder } from './recorder';

type Fn = (...args: unknown[]) => unknown;
const NAMES = ['setTimeout', 'setInterval', 'setImmediate'] as const;
/** Callback names are code, so few; past this many, new names share one unit. */
const MAX_UNITS = 500;

/**
 * @opentelemetry/core's suppressTracing() key (createContextKey is Symbol.for(description)): the
 * exporters' own timers (retries, timeouts) run with it set.
 */
const SUPPRESS_TRACING = Symbol.for('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

interface HasRef {
  hasRef?: () => boolean;
}

/**
 * Makes every setTimeout, setInterval and setImmediate callback run a unit of work named by the
 * callback, as a child of the context it was scheduled in. Not traced: unref'd timers (housekeeping
 * that does not keep the process alive: the SDK's own batch and export timers are made so, and
 * tracing them would make a span per export forever) and timers scheduled with tracing suppressed.
 */
export function patchTimers(rec: Recorder, api: typeof import('@opentelemetry/api')): void {
  const units = new Map<string, Unit>();
  const unitFor = (name: string): Unit => {
    let u = units.get(name);
    if (u === undefined) {
      u = units.size < MAX_UNITS ? new Unit('timer', name) : (units.get('(other)') ?? new Unit('timer', '(other)'));
      units.set(units.size < MAX_UNITS ? name : '(other)', u);
    }
    return u;
  };
  // An Immediate is marked unref'd just before its callback runs (lib/internal/timers.js
  // processImmediate), so its ref state says nothing then; nothing of the SDK uses setImmediate.
  const traced = (callback: Fn, checkRef: boolean): Fn =>
    function (this: HasRef | undefined): unknown {
      if ((checkRef && this?.hasRef?.() === false) || api.context.active().getValue(SUPPRESS_TRACING) === true) return Reflect.apply(callback, this, arguments);
      return rec.invoke(unitFor(callback.name || 'anonymous'), callback, this, arguments);
    };
  const timers = require('node:timers') as Record<string, unknown>;
  const g = globalThis as unknown as Record<string, unknown>;
  for (const name of NAMES) {
    const original = g[name];
    if (typeof original !== 'function') continue;
    const patched = {
      [name](this: unknown, callback: unknown): unknown {
        if (typeof callback !== 'function') return Reflect.apply(original, this, arguments);
        const args: unknown[] = Array.prototype.slice.call(arguments);
        args[0] = traced(callback as Fn, name !== 'setImmediate');
        return Reflect.apply(original, this, args);
      },
    }[name] as Fn;
    // util.promisify.custom and friends
    for (const key of Reflect.ownKeys(original)) {
      if (key === 'name' || key === 'length' || key === 'prototype') continue;
      const d = Object.getOwnPropertyDescriptor(original, key);
      if (d) Object.defineProperty(patched, key, d);
    }
    Object.defineProperty(patched, 'length', { value: (original as Fn).length, configurable: true });
    g[name] = patched;
    if (timers[name] === original) timers[name] = patched;
  }
  // `import { setTimeout } from 'node:timers'` reads the builtin's exports as they are now.
  syncBuiltinESMExports();
}
