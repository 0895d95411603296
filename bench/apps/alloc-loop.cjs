// Runtime-metrics benchmark child: waits past the SDK warm-up, then either runs an allocation-heavy
// loop (WORK=alloc) or idles (WORK=idle), and prints one JSON line: loop wall ms, CPU ms, GC count.
// The GC count comes from an observer only when COUNT_GCS is set (a separate, untimed run).
const { performance, PerformanceObserver } = require('node:perf_hooks');

let gcs = 0;
const counter = process.env.COUNT_GCS ? new PerformanceObserver((l) => (gcs += l.getEntries().length)) : undefined;
counter?.observe({ entryTypes: ['gc'] });

function alloc(iterations) {
  let keep = [];
  for (let n = 0; n < iterations; n++) {
    for (let i = 0; i < 1000; i++) keep.push({ i, s: `x${i}`, a: [i, i + 1] });
    if (keep.length > 100000) keep = [];
  }
  return keep.length;
}

setTimeout(() => {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const done = () => {
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    // GC entries reach JavaScript only after the loop yields: count them a little later.
    setTimeout(() => {
      gcs += counter?.takeRecords().length ?? 0;
      process.stdout.write(`${JSON.stringify({ wall, cpu: (cpu.user + cpu.system) / 1000, gcs })}\n`);
      process.exit(0);
    }, 100);
  };
  if (process.env.WORK === 'idle') setTimeout(done, Number(process.env.IDLE_MS ?? 3000));
  else {
    alloc(Number(process.env.ITERATIONS ?? 10000));
    done();
  }
}, 1500);
