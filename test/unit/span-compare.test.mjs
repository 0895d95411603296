// The comparison behind test/e2e/tracer-conformance.test.mjs (test/helpers/span-compare.mjs):
// equal for two runs that differ only in ids and in-run times, and a readable difference for
// each thing that must count (a value's OTLP type, a parent, a dropped count, an explicit time).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonical, describeDifference } from '../helpers/span-compare.mjs';

const NOW = 1800000000000000000n;
const window = [NOW - 1000000000n, NOW + 1000000000n];
const at = (ms) => String(NOW + BigInt(ms) * 1000000n);
const scope = { name: 'scope', version: '1.0.0' };

/** One run: a root and two children, ids made from `seed`; `change` edits the second child. */
function run(seed, change = (s) => s) {
  const id = (n) => Buffer.from(`${seed}${n}`.padEnd(8, 'x')).toString('base64');
  const trace = Buffer.from(`${seed}`.padEnd(16, 't')).toString('base64');
  const span = (n, name, parent, extra = {}) => ({ traceId: trace, spanId: id(n), parentSpanId: parent ? id(parent) : undefined, name, kind: 'SPAN_KIND_INTERNAL', startTimeUnixNano: at(n), endTimeUnixNano: at(10), ...extra });
  const spans = [span(1, 'root'), span(2, 'a', 1, { attributes: [{ key: 'n', value: { intValue: '3' } }] }), change(span(3, 'b', 1, { startTimeUnixNano: '1000', endTimeUnixNano: '2000' }))];
  const resource = { attributes: [{ key: 'process.pid', value: { intValue: String(seed.charCodeAt(0)) } }] };
  return spans.map((s) => ({ resource, resourceSchemaUrl: '', scope, scopeSchemaUrl: '', span: s }));
}
const form = (records) => canonical(records, { window, normalize: { resource: { 'process.pid': 'a new process' } } });

test('two runs that differ in ids, pids and in-run times are equal', () => {
  const a = form(run('a'));
  const b = form(run('b'));
  assert.deepEqual(a.problems, []);
  assert.deepEqual(a.spans.map((s) => s.span), ['root', 'root > a', 'root > b']);
  assert.equal(describeDifference(a, b), '');
});

test('a parent, a dropped count, an explicit time and an int sent as a double each differ', () => {
  const a = form(run('a'));
  const cases = [
    [(s) => ({ ...s, parentSpanId: s.spanId.replace(/./, 'Q') }), /\.spans\["b"\]: only in b/],
    [(s) => ({ ...s, droppedEventsCount: 1 }), /droppedEventsCount:\n {4}a: 0\n {4}b: 1/],
    [(s) => ({ ...s, endTimeUnixNano: '2001' }), /\.end:\n {4}a: '2000'\n {4}b: '2001'/],
  ];
  for (const [change, want] of cases) assert.match(describeDifference(a, form(run('b', change))), want);
  // The type itself: an int is a BigInt, a double a Number.
  const typed = form(run('b', (s) => ({ ...s, attributes: [{ key: 'n', value: { intValue: '3' } }] })));
  const doubled = form(run('b', (s) => ({ ...s, attributes: [{ key: 'n', value: { doubleValue: 3 } }] })));
  assert.match(describeDifference(typed, doubled), /\.attributes\.n:\n {4}a: 3n\n {4}b: 3/);
});
