// Second build step (after tsc): the register hook's whole startup graph as ONE CommonJS file,
// dist/register.js, so a preloaded process reads, resolves and compiles one file of ours
// instead of ~60 (docs/performance.md, Startup). Everything src/start.ts reaches is in it,
// the parts it require()s lazily too: esbuild wraps each module in a function run on its
// first require(), so a lazy part still runs only when needed, and every module exists once
// (one redact.ts secret list, one export-stats counter) whichever part reaches it. Packages
// stay external: instrumentations must share the app's copies of @opentelemetry/*; the four
// upstream packages they all require are prebuilt apart, as dist/vendor.js (below), and served
// only where that is the very copy Node would load (src/hooks/vendor.ts).
// The rest of dist/ (the API, ./prometheus, the CLIs, the typings) is tsc's output as before.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, sep } from 'node:path';
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
// Third output, built first (the register bundle is told its versions): dist/vendor.js, the
// upstream packages the instrumentations require at load (@opentelemetry/api, core,
// semantic-conventions, instrumentation: about 100 files, 15 ms of an Express start) as one file,
// each package's own CommonJS build unchanged, run on its first get(). src/hooks/vendor.ts serves
// it to the packages we load only where Node would resolve the same version from the same
// place. Each require() from one vendored package to another package (the API, semconv,
// require-in-the-middle) is an "edge" decided at run time: the vendored module where the real
// package would reach the same copy, else Node's require() from the real package's directory.
const VENDORED = ['@opentelemetry/api', '@opentelemetry/core', '@opentelemetry/semantic-conventions', '@opentelemetry/instrumentation'];
const pkgOf = (id) => (id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0]);
const vendorEdges = {
  name: 'vendor-edges',
  setup(b) {
    b.onResolve({ filter: /^vendor:entry$/ }, () => ({ path: 'entry', namespace: 'vendor' }));
    b.onResolve({ filter: /^vendor:runtime$/ }, () => ({ path: 'runtime', namespace: 'vendor' }));
    b.onResolve({ filter: /^[^.#/]/ }, (a) => {
      if (a.namespace !== 'file' || isBuiltin(a.path)) return undefined;
      const m = /[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(a.importer.slice(a.importer.lastIndexOf('node_modules') - 1));
      const from = m?.[1]?.replace(/\\/g, '/');
      if (from === undefined || from === pkgOf(a.path)) return undefined;
      if (!VENDORED.includes(from)) throw new Error(`vendor bundle: ${a.importer} is not in a vendored package`);
      return { path: JSON.stringify([from, a.path]), namespace: 'vendor-edge' };
    });
    b.onLoad({ filter: /.*/, namespace: 'vendor-edge' }, (a) => {
      const [from, id] = JSON.parse(a.path);
      return { contents: `module.exports = require('vendor:runtime').edge(${JSON.stringify(from)}, ${JSON.stringify(id)});\n`, loader: 'js' };
    });
    b.onLoad({ filter: /^runtime$/, namespace: 'vendor' }, () => ({ contents: 'exports.edge = undefined;\n', loader: 'js' }));
    b.onLoad({ filter: /^entry$/, namespace: 'vendor' }, () => ({
      contents: [
        "const rt = require('vendor:runtime');",
        'exports.setEdge = (fn) => { rt.edge = fn; };',
        'exports.get = (name) => {',
        '  switch (name) {',
        ...VENDORED.map((n) => `    case ${JSON.stringify(n)}: return require(${JSON.stringify(n)});`),
        '  }',
        '  return undefined;',
        '};',
      ].join('\n'),
      resolveDir: root,
      loader: 'js',
    }));
  },
};
const requireRoot = createRequire(join(root, 'package.json'));
const vendorVersions = Object.fromEntries(VENDORED.map((n) => [n, JSON.parse(readFileSync(join(packageDir(requireRoot.resolve(n), n), 'package.json'), 'utf8')).version]));
await build({
  ...common,
  entryPoints: ['vendor:entry'],
  outfile: join(root, 'dist/vendor.js'),
  packages: undefined,
  // Upstream's code, redistributed: say whose, under which licence (their files' own headers are
  // not legal comments esbuild keeps).
  banner: { js: `/* Bundled from ${Object.entries(vendorVersions).map(([n, v]) => `${n}@${v}`).join(', ')}: Copyright The OpenTelemetry Authors, Apache License 2.0 (http://www.apache.org/licenses/LICENSE-2.0). */` },
  plugins: [vendorEdges],
});
// Fourth output: dist/iitm-hook.js, import-in-the-middle's synchronous hook side (create-hook.mjs
// and the lib/ files and lexers it imports) as one CommonJS file, loaded at the first ES import it
// must wrap (src/hooks/install.ts, LazyEsmHook). Loaded as ES modules, its `import ... from 'fs'`
// (and util, module, url, path) build Node's ESM facade of each builtin, which reads every export
// and so runs every lazy getter (fs.promises, ...); here they are plain require()s. Its lexers:
// cjs-module-lexer's pure-JS build (no WebAssembly to compile), es-module-lexer loaded at its
// first parse (only when an ES module is wrapped). Not in it: lib/register.js, which the
// generated wrappers import by URL from the real package (createHook's meta.url): one runtime copy.
const iitmDir = dirname(requireRoot.resolve('import-in-the-middle/hook.mjs'));
const iitmVersion = JSON.parse(readFileSync(join(iitmDir, 'package.json'), 'utf8')).version;
const lexerVersions = ['cjs-module-lexer', 'es-module-lexer'].map((n) => {
  const r = createRequire(join(iitmDir, 'package.json'));
  return `${n}@${JSON.parse(readFileSync(join(packageDir(r.resolve(n), n), 'package.json'), 'utf8')).version}`;
});
const iitmLexers = {
  name: 'iitm-lexers',
  setup(b) {
    b.onResolve({ filter: /^cjs-module-lexer$/ }, (a) => ({ path: createRequire(a.importer).resolve('cjs-module-lexer') }));
    b.onResolve({ filter: /^es-module-lexer$/ }, (a) => (a.namespace === 'lazy-lexer' ? undefined : { path: a.importer, namespace: 'lazy-lexer' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-lexer' }, (a) => ({
      contents: "let m;\nexport function parse(...args) { return (m ??= require('es-module-lexer')).parse(...args); }\n",
      resolveDir: dirname(a.path),
      loader: 'js',
    }));
  },
};
await build({
  ...common,
  entryPoints: [join(iitmDir, 'create-hook.mjs')],
  outfile: join(root, 'dist/iitm-hook.js'),
  packages: undefined,
  // Its own createRequire(import.meta.url) resolves with explicit paths only; the file's own URL serves.
  define: { 'import.meta.url': '__iitm_file_url' },
  banner: { js: `/* Bundled from import-in-the-middle@${iitmVersion} (Copyright 2021 Datadog, Inc., Apache License 2.0, http://www.apache.org/licenses/LICENSE-2.0), ${lexerVersions.join(', ')} (MIT License, Copyright Guy Bedford). */\nconst __iitm_file_url = require('node:url').pathToFileURL(__filename).href;` },
  footer: { js: `module.exports.IITM_VERSION = ${JSON.stringify(iitmVersion)};` },
  plugins: [iitmLexers],
});

function contentHash(file) {
  return createHash('sha256').update(readFileSync(join(root, file))).digest('hex').slice(0, 16);
}
function packageDir(entry, name) {
  const i = entry.lastIndexOf(`node_modules${sep}${name.split('/').join(sep)}${sep}`);
  return entry.slice(0, i + `node_modules${sep}${name}`.length);
}

await build({
  ...common,
  entryPoints: [join(root, 'src/start.ts')],
  define: { IITM_HOOK_VERSION: JSON.stringify(iitmVersion), VENDOR_VERSIONS: JSON.stringify(vendorVersions), VENDOR_HASH: JSON.stringify(contentHash('dist/vendor.js')), VENDOR_PARENTS: JSON.stringify(Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies)) },
  outfile: join(root, 'dist/register.js'),
  sourcemap: true,
  plugins: [lazyBuiltins],
});

// The register entry files' loader (src/bundle-cache.ts): loads dist/register.js with a V8 code
// cache of its own. The cache file is named by the bundle's content hash, fixed here: V8 itself
// checks only the source's length, so a cache must never meet another build of the same length.
const hash = contentHash('dist/register.js');
await build({
  ...common,
  entryPoints: [join(root, 'src/bundle-cache.ts')],
  outfile: join(root, 'dist/register-loader.js'),
  define: { BUNDLE_HASH: JSON.stringify(hash) },
});
