// The prototype-level emitter binding of our server instrumentation
// (src/instrumentations/http-server/bind.ts) on an EventEmitter class of its own: listeners added
// to a bound emitter run in its context with the emitter's `this` and arguments, as
// context.bind(ctx, emitter) makes them; removing one by the function the app holds removes it,
// once-listeners too; emitters never bound are left alone.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { prototypeBinder } from '../../dist/instrumentations/http-server/bind.js';

api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
class Emitter extends EventEmitter {}
const bind = prototypeBinder(api, [Emitter.prototype]);
const KEY = api.createContextKey('bind-test');
const ctx = api.ROOT_CONTEXT.setValue(KEY, 'bound');

test('listeners of a bound emitter run in its context, with its this and arguments', () => {
  const e = new Emitter();
  bind(ctx, e);
  const seen = [];
  const record = (how) =>
    function (...args) {
      seen.push([how, api.context.active().getValue(KEY), this === e, args]);
    };
  e.on('x', record('on'));
  e.once('x', record('once'));
  e.prependListener('x', record('prepend'));
  e.addListener('x', record('add'));
  e.prependOnceListener('x', record('prependOnce'));
  e.emit('x', 1, 2);
  e.emit('x', 3);
  assert.deepEqual(seen, [
    ['prependOnce', 'bound', true, [1, 2]],
    ['prepend', 'bound', true, [1, 2]],
    ['on', 'bound', true, [1, 2]],
    ['once', 'bound', true, [1, 2]],
    ['add', 'bound', true, [1, 2]],
    ['prepend', 'bound', true, [3]],
    ['on', 'bound', true, [3]],
    ['add', 'bound', true, [3]],
  ]);
  assert.equal(api.context.active().getValue(KEY), undefined, 'and only while they run');
});

test('removeListener and off find the bound listener by the app\'s function, once-listeners too', () => {
  const e = new Emitter();
  bind(ctx, e);
  const calls = [];
  const a = () => calls.push('a');
  const b = () => calls.push('b');
  const c = () => calls.push('c');
  const d = () => calls.push('d');
  e.on('x', a);
  e.once('x', b);
  e.on('x', c);
  e.prependOnceListener('x', d);
  e.removeListener('x', a);
  e.off('x', b);
  e.removeListener('x', d);
  assert.equal(e.listenerCount('x'), 1);
  e.emit('x');
  assert.deepEqual(calls, ['c']);
  e.off('x', c);
  assert.equal(e.listenerCount('x'), 0);
  e.on('y', a);
  e.on('y', b);
  e.removeAllListeners('y');
  assert.equal(e.listenerCount('y'), 0);
  e.emit('y');
  assert.deepEqual(calls, ['c']);
});

test('an emitter never bound is left alone', () => {
  const e = new Emitter();
  const f = () => {};
  e.on('x', f);
  assert.equal(e.listeners('x')[0], f, 'not wrapped');
  e.off('x', f);
  assert.equal(e.listenerCount('x'), 0);
});
