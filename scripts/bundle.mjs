// Second build step (after tsc): the register hook's whole startup graph as ONE CommonJS file,
// dist/register.js, so a preloaded process reads, resolves and compiles one file of ours
// instead of ~60 (docs/performance.md, Startup). Everything src/start.ts reaches is in it,
// the parts it require()s lazily too: esbuild wraps each module in a function run on its
// first require(), so a lazy part still runs only when needed, and every module exists once
// (one redact.ts secret list, one export-stats counter) whichever part reaches it. Packages
// stay external: instrumentations must share the app's copies of @opentelemetry/*.
// The rest of dist/ (the API, ./prometheus, the CLIs, the typings) is tsc's output as before.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// Builtins the startup path imports but uses only later (child_process: the exit-time send,
// src/sdk/exit-send.ts; v8: runtime metrics, read once they run). A top-level import of one loads
// it, and what it needs (net, dgram, streams, heap utilities), in every preloaded process,
// `node -e 0` too. Each is replaced by a module of the same named function exports, each loading
// the builtin on its first call; a class (capitalised) is constructed through its stand-in, which
// returns the real instance (instanceof against the stand-in would fail: nothing here uses it).
// Only functions: a value export would have to be read at load time.
const LAZY_BUILTINS = ['child_process', 'v8'];
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join('|')})$`);
    b.onResolve({ filter }, (a) => (a.namespace === 'lazy-builtin' ? { path: a.path, external: true } : { path: a.path.replace(/^node:/, ''), namespace: 'lazy-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => {
      const mod = createRequire(import.meta.url)(a.path);
      const names = Object.keys(mod).filter((k) => /^[A-Za-z]\w*$/.test(k) && typeof mod[k] === 'function');
      const lines = names.map((k) => (/^[A-Z]/.test(k) ? `export function ${k}(...args) { return new (load().${k})(...args); }` : `export function ${k}(...args) { return load().${k}(...args); }`));
      return { contents: `let m;\nconst load = () => (m ??= require('node:${a.path}'));\n${lines.join('\n')}\n`, loader: 'js' };
    });
  },
};
// Both outputs: one CommonJS file for Node 22+, dependencies left to require().
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  packages: 'external',
  // Class and function names as written: they show in stack traces and error texts.
  keepNames: true,
  logLevel: 'warning',
};
await build({
  ...common,
  entryPoints: [join(root, 'src/start.ts')],
  outfile: join(root, 'dist/register.js'),
  sourcemap: true,
  plugins: [lazyBuiltins],
});

// The register entry files' loader (src/bundle-cache.ts): loads dist/register.js with a V8 code
// cache of its own. The cache file is named by the bundle's content hash, fixed here: V8 itself
// checks only the source's length, so a cache must never meet another build of the same length.
const hash = createHash('sha256').update(readFileSync(join(root, 'dist/register.js'))).digest('hex').slice(0, 16);
await build({
  ...common,
  entryPoints: [join(root, 'src/bundle-cache.ts')],
  outfile: join(root, 'dist/register-loader.js'),
  define: { BUNDLE_HASH: JSON.stringify(hash) },
});
