// Unit tests for src/runtime: the exact bucket counts read out of an HdrHistogram.
import assert from 'node:assert/strict';
import { createHistogram } from 'node:perf_hooks';
import { test } from 'node:test';
import { bucketCounts } from '../../dist/runtime/eventloop.js';

const BOUNDS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BOUNDS_NS = BOUNDS_S.map((b) => b * 1e9);

function direct(samples) {
  const counts = new Array(BOUNDS_NS.length + 1).fill(0);
  for (const v of samples) {
    const i = BOUNDS_NS.findIndex((b) => v <= b);
    counts[i === -1 ? BOUNDS_NS.length : i]++;
  }
  return counts;
}

test('bucket counts read from an HdrHistogram equal a direct count of the samples', () => {
  // Log-uniform delays from 10 µs to 20 s, kept 1% away from every bound (HdrHistogram keeps 3
  // significant digits, so a sample on a bound could land either side).
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const n of [1, 7, 1000, 25000]) {
    const h = createHistogram();
    const samples = [];
    while (samples.length < n) {
      const v = Math.round(10 ** (4 + rand() * 6.3));
      if (BOUNDS_NS.some((b) => Math.abs(v - b) / b < 0.01)) continue;
      samples.push(v);
      h.record(v);
    }
    const { counts, representatives } = bucketCounts(h, BOUNDS_NS);
    assert.deepEqual(counts, direct(samples), `n=${n}`);
    assert.equal(counts.reduce((a, b) => a + b, 0), n);
    counts.forEach((c, i) => {
      if (c === 0) return assert.equal(representatives[i], 0);
      const lo = i === 0 ? 0 : BOUNDS_S[i - 1];
      const hi = BOUNDS_S[i] ?? Infinity;
      assert.ok(representatives[i] > lo && representatives[i] <= hi, `bucket ${i}: ${representatives[i]} not in (${lo}, ${hi}]`);
    });
  }
});

test('an empty window has empty buckets', () => {
  const { counts } = bucketCounts(createHistogram(), BOUNDS_NS);
  assert.deepEqual(counts, new Array(BOUNDS_NS.length + 1).fill(0));
});
