// Child of bench/async.mjs: times N calls of each function (plain and traced alternately, in
// rounds) and prints one JSON line of nanoseconds per call, medians over the rounds.
const work = require('./work.cjs');

const N = Number(process.env.BENCH_CALLS || 20000);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 9);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timeSync(fn) {
  let acc = 0;
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) acc += fn(i, 1);
  const ns = Number(process.hrtime.bigint() - t) / N;
  if (acc < 0) console.log(acc);
  return ns;
}

async function timeAsync(fn) {
  let acc = 0;
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) acc += await fn(i, 1);
  const ns = Number(process.hrtime.bigint() - t) / N;
  if (acc < 0) console.log(acc);
  return ns;
}

(async () => {
  // Warm-up: JIT, and the SDK built by the first span.
  timeSync(work.tracedSync);
  timeSync(work.plainSync);
  await timeAsync(work.tracedAsync);
  await timeAsync(work.plainAsync);
  const r = { plainSync: [], tracedSync: [], plainAsync: [], tracedAsync: [] };
  for (let i = 0; i < ROUNDS; i++) {
    r.plainSync.push(timeSync(work.plainSync));
    r.tracedSync.push(timeSync(work.tracedSync));
    r.plainAsync.push(await timeAsync(work.plainAsync));
    r.tracedAsync.push(await timeAsync(work.tracedAsync));
  }
  console.log(JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)]))));
})();
