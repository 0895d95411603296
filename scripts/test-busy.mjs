// `npm run test:busy`: the suite on a busy machine, as CI may be. One CPU-bound process per core
// (a plain `node -e 'for(;;);'`, niced like nothing: the same priority as the tests) runs beside
// the whole of `npm test`, RUNS times in a row (default 2); exits non-zero if any run fails.
//   npm run test:busy                  # both runs on TEST_NODE (default 24)
//   RUNS=1 npm run test:busy -- test/e2e/reliability.test.mjs
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.RUNS ?? 2);
const hogs = Array.from({ length: availableParallelism() }, () => spawn(process.execPath, ['-e', 'for(;;);'], { stdio: 'ignore' }));
const stop = () => hogs.forEach((h) => h.kill('SIGKILL'));
process.on('exit', stop);
console.log(`test:busy: ${hogs.length} CPU-bound processes beside ${runs} run(s) of the suite`);

let failed = 0;
for (let i = 1; i <= runs; i++) {
  const t0 = Date.now();
  const code = await new Promise((resolve) => {
    const c = spawn(process.execPath, [join(root, 'scripts/test.mjs'), ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
    c.on('close', (c2) => resolve(c2 ?? 1));
  });
  console.log(`test:busy: run ${i} of ${runs} ${code === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - t0) / 1000)} s`);
  if (code !== 0) failed++;
}
stop();
process.exit(failed > 0 ? 1 : 0);
