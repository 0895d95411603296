import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LazyMeter } from '../../dist/sdk/lazy-meter.js';

/** A fake SDK meter that records what was created and observed. */
function fakeMeter(log) {
  const observable = (name) => {
    const cbs = new Set();
    return { name, addCallback: (cb) => cbs.add(cb), removeCallback: (cb) => cbs.delete(cb), cbs };
  };
  return {
    createCounter: (n) => ({ add: (v, a) => log.push(['add', n, v, a]) }),
    createUpDownCounter: (n) => ({ add: (v) => log.push(['updown', n, v]) }),
    createHistogram: (n) => ({ record: (v) => log.push(['record', n, v]) }),
    createGauge: (n) => ({ record: (v) => log.push(['gauge', n, v]) }),
    createObservableGauge: (n) => { const o = observable(n); log.push(['obs', n, o]); return o; },
    createObservableCounter: (n) => observable(n),
    createObservableUpDownCounter: (n) => observable(n),
    addBatchObservableCallback: (cb, obs) => log.push(['batch', cb, obs]),
    removeBatchObservableCallback: (cb, obs) => log.push(['unbatch', cb, obs]),
  };
}

test('nothing is built until the first measurement, which builds and records', () => {
  const log = [];
  let built = 0;
  let meter;
  const lazy = new LazyMeter(() => fakeMeter(log), () => { built++; meter.materialize(); });
  meter = lazy;
  const c = lazy.createCounter('requests');
  const h = lazy.createHistogram('duration');
  assert.equal(built, 0);
  assert.deepEqual(log, []);
  c.add(2, { route: '/' });
  assert.equal(built, 1);
  h.record(0.5);
  c.add(1);
  assert.deepEqual(log, [['add', 'requests', 2, { route: '/' }], ['record', 'duration', 0.5], ['add', 'requests', 1, undefined]]);
});

test('observables and batch callbacks registered early are attached when the SDK is built', () => {
  const log = [];
  const lazy = new LazyMeter(() => fakeMeter(log), () => lazy.materialize());
  const g = lazy.createObservableGauge('heap');
  const cb = (r) => r.observe(1);
  g.addCallback(cb);
  const batch = (result) => result.observe(g, 42, { k: 'v' });
  lazy.addBatchObservableCallback(batch, [g]);
  assert.deepEqual(log, []);
  lazy.materialize();
  const [, name, real] = log[0];
  assert.equal(name, 'heap');
  assert.ok(real.cbs.has(cb), 'the early callback is attached to the real observable');
  const [kind, translated, observables] = log[1];
  assert.equal(kind, 'batch');
  assert.deepEqual(observables, [real], 'the batch callback is given the real observable');
  // The batch callback observes our stand-in; the SDK must see the real instrument.
  const seen = [];
  translated({ observe: (o, v, a) => seen.push([o, v, a]) });
  assert.deepEqual(seen, [[real, 42, { k: 'v' }]]);
  // Removing the same callback removes what was added.
  lazy.removeBatchObservableCallback(batch, [g]);
  assert.equal(log[2][1], translated);
  // After materializing, registrations go straight through.
  const cb2 = () => {};
  g.addCallback(cb2);
  assert.ok(real.cbs.has(cb2));
  g.removeCallback(cb2);
  assert.ok(!real.cbs.has(cb2));
});
