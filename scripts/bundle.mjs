// Second build step (after tsc): the register hook's whole startup graph as ONE CommonJS file,
// dist/register.js, so a preloaded process reads, resolves and compiles one file of ours
// instead of ~60 (docs/performance.md, Startup). Everything src/start.ts reaches is in it,
// the parts it require()s lazily too: esbuild wraps each module in a function run on its
// first require(), so a lazy part still runs only when needed, and every module exists once
// (one redact.ts secret list, one export-stats counter) whichever part reaches it. Packages
// stay external: instrumentations must share the app's copies of @opentelemetry/*.
// The rest of dist/ (the API, ./prometheus, the CLIs, the typings) is tsc's output as before.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'src/start.ts')],
  outfile: join(root, 'dist/register.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  packages: 'external',
  // Class and function names as written: they show in stack traces and error texts.
  keepNames: true,
  sourcemap: true,
  logLevel: 'warning',
});
