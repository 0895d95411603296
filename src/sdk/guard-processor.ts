import type { Logger } from '../log';
import { errorText } from '../log';

interface Processor {
  onStart?(...args: never[]): void;
  onEmit?(...args: never[]): void;
  onEnd?(...args: never[]): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * A plugin's span or log record processor, made unable to throw into the app: the SDK calls
 * processors inline from span.end() and logger.emit(), that is from inside an instrumentation's
 * wrapper around the app's own call, with no try/catch of its own. A throw is reported once per
 * processor and that call's telemetry goes on without it.
 */
export function guardProcessor<P extends Processor>(p: P, label: string, log: Logger): P {
  let said = false;
  const report = (where: string, err: unknown): void => {
    if (said) return;
    said = true;
    log.warn(`${label} threw in ${where} (${errorText(err)}); the app is not affected, and later throws are not reported`);
  };
  const wrapSync = (name: 'onStart' | 'onEmit' | 'onEnd') => {
    const f = p[name];
    if (typeof f !== 'function') return undefined;
    return (...args: never[]): void => {
      try {
        f.apply(p, args);
      } catch (err) {
        report(name, err);
      }
    };
  };
  const wrapAsync = (name: 'forceFlush' | 'shutdown') => (): Promise<void> => {
    try {
      return p[name]().catch((err: unknown) => report(name, err));
    } catch (err) {
      report(name, err);
      return Promise.resolve();
    }
  };
  const guarded = { forceFlush: wrapAsync('forceFlush'), shutdown: wrapAsync('shutdown') } as Processor;
  for (const name of ['onStart', 'onEmit', 'onEnd'] as const) {
    const w = wrapSync(name);
    if (w) guarded[name] = w;
  }
  return guarded as P;
}

interface SamplerLike {
  shouldSample(...args: never[]): unknown;
  toString(): string;
}

/** SamplingDecision.NOT_RECORD, without loading sdk-trace for one constant. */
const NOT_SAMPLED = Object.freeze({ decision: 0 });

/**
 * A plugin's sampler, made unable to throw into the app: both tracers call it inline from
 * startSpan, inside an instrumentation's wrapper around the app's own call (upstream's SDK has no
 * try/catch there). A throw, or no answer, makes that span not sampled; the first throw is
 * reported once, naming the plugin.
 */
export function guardSampler<S extends SamplerLike>(s: S, label: string, log: Logger): S {
  let said = false;
  return {
    shouldSample(...args: never[]): unknown {
      try {
        return s.shouldSample(...args) ?? NOT_SAMPLED;
      } catch (err) {
        if (!said) {
          said = true;
          log.warn(`${label} threw in shouldSample (${errorText(err)}); those spans are not sampled, the app is not affected, and later throws are not reported`);
        }
        return NOT_SAMPLED;
      }
    },
    toString: () => {
      try {
        return String(s.toString());
      } catch {
        return label;
      }
    },
  } as S;
}
