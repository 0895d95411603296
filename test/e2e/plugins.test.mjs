// The "otel" field plugin system (docs/plugins.md), end to end: real apps in temporary
// directories whose node_modules hold the example packages (examples/*) and the fixture plugins
// (test/fixtures/plugins/*), under the real register hook, decoded by a real OTLP receiver.
// Every test runs on two layouts of node_modules (see app()): "installed" (copies, as from a
// registry) and "linked" (symlinks, as npm link, file: dependencies and workspaces make them).
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { REGISTER, ROOT, runNode } from '../helpers/run.mjs';

const EXAMPLES = join(ROOT, 'examples');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'plugins');
const PROBE = join(ROOT, 'test', 'fixtures', 'loaded-probe.cjs');
/** Where every package comes from: the two examples, the rest fixtures. */
const SOURCE = { 'acme-db': join(EXAMPLES, 'acme-db'), 'acme-distro': join(EXAMPLES, 'acme-distro') };
const sourceOf = (name) => SOURCE[name] ?? join(FIXTURES, name);

/** Each bad fixture, as its warning must name it. */
const BAD = ['bad-escape', 'bad-symlink', 'bad-syntax', 'bad-patch', 'bad-range', 'bad-field', 'future-schema', 'throwing-configurator', 'throwing-processor'];

// The app: a node:http server that calls itself once; the handler uses acme-db and fixture-target.
const APP_CJS = `'use strict';
const http = require('node:http');
const { query } = require('acme-db');
const { hello } = require('fixture-target');

const server = http.createServer((req, res) => {
  const greeting = hello();
  query('SELECT 1').then(
    ({ rows }) => res.end(\`\${greeting} \${rows.length}\`),
    (err) => {
      res.statusCode = 500;
      res.end(String(err));
    },
  );
});
server.listen(0, '127.0.0.1', () => {
  http.get(\`http://127.0.0.1:\${server.address().port}/query\`, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d) => (body += d));
    res.on('end', () => {
      console.log(\`ok \${body}\`);
      server.close();
      process.exitCode = res.statusCode === 200 ? 0 : 1;
    });
  });
});
`;
const APP_MJS = APP_CJS.replace(
  `'use strict';
const http = require('node:http');
const { query } = require('acme-db');
const { hello } = require('fixture-target');`,
  `import http from 'node:http';
import { query } from 'acme-db';
import { hello } from 'fixture-target';`,
);
// An app with acme-db installed that never loads it.
const NEVER_CJS = `'use strict';
const { hello } = require('fixture-target');
console.log(\`ok \${hello()}\`);
`;
const NEVER_MJS = `import { hello } from 'fixture-target';
console.log(\`ok \${hello()}\`);
`;

let receiver;
let tmp;
before(async () => {
  receiver = await startReceiver();
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'otel-plugins-e2e-')));
});
after(async () => {
  await receiver?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/**
 * A temporary app whose package.json depends on `deps`, each placed in its node_modules, plus
 * otel-autoinstrument itself (a symlink to this repo). Two layouts:
 * - "linked": node_modules/<dep> is a symlink to examples/<dep> or test/fixtures/plugins/<dep>,
 *   as `npm install file:...`, `npm link` and npm workspaces make them. Node resolves realpaths,
 *   so @opentelemetry/* resolve from this repo's node_modules.
 * - "installed": node_modules/<dep> is a copy, as `npm install` from a registry makes it, and
 *   node_modules/@opentelemetry links this repo's (otel-autoinstrument's hoisted dependencies).
 */
const apps = new Map();
function app(layout, deps) {
  const key = `${layout}:${[...deps].sort().join(',')}`;
  if (apps.has(key)) return apps.get(key);
  const dir = join(tmp, `${layout}-${apps.size}`);
  const nm = join(dir, 'node_modules');
  mkdirSync(nm, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `plugins-e2e-${layout}-${apps.size}`, version: '1.0.0', private: true, dependencies: Object.fromEntries(deps.map((d) => [d, '*'])) }, null, 2));
  symlinkSync(ROOT, join(nm, 'otel-autoinstrument'), 'dir');
  // Installed: otel-autoinstrument's hoisted dependencies. Linked: what the plugins resolve under
  // --preserve-symlinks, where their own directory is node_modules/<dep> (see run()).
  symlinkSync(join(ROOT, 'node_modules', '@opentelemetry'), join(nm, '@opentelemetry'), 'dir');
  // Not a dependency, so never discovered, but resolvable: bad-symlink's entry points at it.
  if (!deps.includes('fixture-target')) place(layout, 'fixture-target', nm);
  for (const d of deps) place(layout, d, nm);
  // What bad-escape's "../escape.js" names from node_modules/bad-escape without following the link;
  // following it names test/fixtures/plugins/escape.js. Either one, if loaded, prints to stdout.
  copyFileSync(join(FIXTURES, 'escape.js'), join(nm, 'escape.js'));
  writeFileSync(join(dir, 'app.cjs'), APP_CJS);
  writeFileSync(join(dir, 'app.mjs'), APP_MJS);
  writeFileSync(join(dir, 'never.cjs'), NEVER_CJS);
  writeFileSync(join(dir, 'never.mjs'), NEVER_MJS);
  apps.set(key, dir);
  return dir;
}

function place(layout, name, nm) {
  const src = sourceOf(name);
  const dest = join(nm, name);
  assert.ok(existsSync(join(src, 'package.json')), `fixture ${name} exists at ${src}`);
  // A checkout without symlinks (core.symlinks=false) has a text file at bad-symlink/otel.js: the
  // package is then built here, with the symlink out of it made now.
  const rebuild = name === 'bad-symlink' && !lstatSync(join(src, 'otel.js')).isSymbolicLink();
  if (layout === 'linked' && !rebuild) return symlinkSync(src, dest, 'dir');
  cpSync(src, dest, { recursive: true, verbatimSymlinks: true });
  if (rebuild) {
    rmSync(join(dest, 'otel.js'));
    symlinkSync(join('..', 'fixture-target', 'index.js'), join(dest, 'otel.js'));
  }
}

const MODES = [
  ['require', 'app.cjs'],
  ['import', 'app.mjs'],
  ['import', 'app.cjs'],
];
const LAYOUTS = ['installed', 'linked'];

let n = 0;
/** Runs `script` in the `layout` app made of `deps` under `mode`; `expect` spans of its own service are awaited. */
async function run(layout, mode, script, deps, { env = {}, expect = 3, nodeArgs = [] } = {}) {
  const service = `plugins-${layout}-${mode}-${script.replace('.', '-')}-${n++}-${Math.random().toString(36).slice(2, 7)}`;
  const cwd = app(layout, deps);
  // require-in-the-middle names a CommonJS module from a node_modules segment of its real path;
  // a linked package's real path has none, so it is not patched unless Node keeps the link's path
  // (docs/plugins.md, "Linked packages"). import-in-the-middle goes by the imported name instead.
  if (layout === 'linked' && script.endsWith('.cjs')) nodeArgs = ['--preserve-symlinks', ...nodeArgs];
  const res = await runNode([...nodeArgs, ...REGISTER[mode]], script, {
    cwd,
    env: { OTEL_SERVICE_NAME: service, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', ...env },
  });
  const mine = () => receiver.spans().filter((s) => s.resource['service.name'] === service);
  await waitFor(() => mine().length >= expect, 10000);
  return { res, spans: mine(), mine, service, cwd };
}

const lines = (stderr) => stderr.split('\n').filter((l) => l.trim() !== '');
const names = (spans) => spans.map((s) => `${s.scope}:${s.name}(${s.kind})`).join(', ');
const settle = () => new Promise((r) => setTimeout(r, 300));

/** The server span and acme-db's span, checked as docs/plugins.md promises. */
function checkQuerySpan(spans) {
  const server = spans.find((s) => s.kind === 'SPAN_KIND_SERVER');
  const query = spans.find((s) => s.name === 'acme-db.query');
  assert.ok(server, `an http server span: ${names(spans)}`);
  assert.ok(query, `an acme-db.query span: ${names(spans)}`);
  assert.equal(query.kind, 'SPAN_KIND_CLIENT');
  assert.equal(query.scope, 'acme-db-instrumentation');
  assert.equal(query.attributes['db.query.text'], 'SELECT 1');
  assert.equal(query.traceId, server.traceId);
  assert.equal(query.parentSpanId, server.spanId, 'acme-db.query is a child of the http server span');
  return { server, query };
}

const TWO_DISTROS = ['acme-db', 'acme-distro', 'second-distro', 'fixture-target'];
const SOLO = ['acme-db', 'fixture-target'];

for (const layout of LAYOUTS) {
  for (const [mode, script] of MODES) {
    test(`[${layout}] --${mode} ${script}: acme-db's own instrumentation, the acme distro chosen from two, its defaults and configurator`, async () => {
      const { res, spans } = await run(layout, mode, script, TWO_DISTROS);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, 'ok hi 1\n');

      // Unset OTEL_NODE_DISTRO with two installed: the first by package name, one warning naming the other.
      const warnings = lines(res.stderr);
      assert.equal(warnings.length, 1, res.stderr);
      assert.match(warnings[0], /warning/);
      assert.match(warnings[0], /second-distro|\bsecond\b/, 'the warning names the distro not used');

      checkQuerySpan(spans);
      assert.ok(spans.some((s) => s.kind === 'SPAN_KIND_CLIENT' && s.name !== 'acme-db.query'), `the http client span: ${names(spans)}`);
      for (const s of spans) {
        const r = s.resource;
        assert.equal(r['acme.tier'], 'gold', 'the acme distro default OTEL_RESOURCE_ATTRIBUTES applies');
        assert.equal(r['second.distro'], undefined, 'the other distro contributes nothing');
        assert.equal(r['telemetry.distro.name'], 'acme');
        assert.equal(r['telemetry.distro.version'], '0.3.0');
        assert.equal(r['acme.configured'], true, "the acme configurator's resource attribute");
        assert.equal(s.attributes['acme.processed'], true, `${s.name} went through the acme span processor`);
      }
    });
  }

  for (const [mode, script] of MODES) {
    test(`[${layout}] --${mode} ${script}: OTEL_NODE_DISTRO=second picks the other distro, without a warning`, async () => {
      const { res, spans } = await run(layout, mode, script, TWO_DISTROS, { env: { OTEL_NODE_DISTRO: 'second' } });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, 'ok hi 1\n');
      assert.equal(res.stderr, '');
      checkQuerySpan(spans);
      for (const s of spans) {
        assert.equal(s.resource['second.distro'], 'yes');
        assert.equal(s.resource['acme.tier'], undefined, 'the acme defaults are not used');
        assert.equal(s.resource['telemetry.distro.name'], 'second');
        assert.equal(s.resource['telemetry.distro.version'], '1.0.0');
      }
    });
  }

  test(`[${layout}] --import app.mjs: OTEL_NODE_DISTRO=none uses no distro, without a warning`, async () => {
    const { res, spans } = await run(layout, 'import', 'app.mjs', TWO_DISTROS, { env: { OTEL_NODE_DISTRO: 'none' } });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'ok hi 1\n');
    assert.equal(res.stderr, '');
    checkQuerySpan(spans);
    for (const s of spans) {
      assert.equal(s.resource['acme.tier'], undefined);
      assert.equal(s.resource['second.distro'], undefined);
      assert.equal(s.resource['telemetry.distro.name'], undefined);
      assert.equal(s.resource['telemetry.distro.version'], undefined);
    }
  });

  for (const [mode, script, distro] of [['require', 'app.cjs', 'acme'], ['import', 'app.mjs', undefined]]) {
    test(`[${layout}] --${mode} ${script}: the environment wins over the distro defaults (OTEL_RESOURCE_ATTRIBUTES=acme.tier=silver, OTEL_NODE_DISTRO=${distro ?? 'unset'})`, async () => {
      const { res, spans } = await run(layout, mode, script, TWO_DISTROS, { env: { OTEL_RESOURCE_ATTRIBUTES: 'acme.tier=silver', ...(distro ? { OTEL_NODE_DISTRO: distro } : {}) }, expect: 2 });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, 'ok hi 1\n');
      assert.equal(lines(res.stderr).length, distro ? 0 : 1, res.stderr);
      assert.ok(spans.length >= 2, names(spans));
      for (const s of spans) {
        assert.equal(s.resource['acme.tier'], 'silver');
        assert.equal(s.resource['telemetry.distro.name'], 'acme');
        assert.equal(s.resource['acme.configured'], true);
      }
    });
  }

  for (const [mode, script] of MODES) {
    test(`[${layout}] --${mode} ${script}: every bad plugin costs one warning naming it; the app and the good plugin are untouched`, async () => {
      const { res, spans } = await run(layout, mode, script, [...SOLO, ...BAD]);
      assert.equal(res.code, 0, res.stderr);
      // hello() still answers 'hi' (bad-patch's throwing patch did not break the require), and
      // nothing a bad entry names (escape.js, bad-range's otel.js) was loaded: they would print here.
      assert.equal(res.stdout, 'ok hi 1\n', res.stderr);

      const warnings = lines(res.stderr);
      const missing = [];
      for (const pkg of BAD) {
        const id = `${pkg}@1.0.0`;
        const hits = warnings.filter((l) => l.includes(id));
        if (hits.length === 0) missing.push(id);
        else assert.equal(hits.length, 1, `exactly one stderr line names ${id}; stderr:\n${res.stderr}`);
      }
      assert.deepEqual(missing, [], `each bad package is named on stderr; stderr:\n${res.stderr}`);
      const unexplained = warnings.filter((l) => !BAD.some((pkg) => l.includes(`${pkg}@1.0.0`)));
      assert.deepEqual(unexplained, [], "every stderr line is one of the bad plugins' warnings");
      for (const l of warnings) assert.match(l, /^otel-autoinstrument: warning: /);

      checkQuerySpan(spans);
      // What the throwing configurator added before it threw is dropped.
      for (const s of spans) assert.equal(s.resource['throwing.configured'], undefined);
    });
  }

  for (const [mode, script] of [MODES[0], MODES[1]]) {
    test(`[${layout}] --${mode} ${script}: OTEL_NODE_DISABLED_INSTRUMENTATIONS=acme-db turns acme-db's instrumentation off, quietly`, async () => {
      const { res, mine } = await run(layout, mode, script, SOLO, { env: { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'acme-db' }, expect: 2 });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, 'ok hi 1\n');
      assert.equal(res.stderr, '', 'acme-db is a known instrumentation name: no warning');
      await settle();
      const spans = mine();
      assert.ok(spans.some((s) => s.kind === 'SPAN_KIND_SERVER'), names(spans));
      assert.equal(spans.filter((s) => s.name === 'acme-db.query').length, 0, names(spans));
    });

    test(`[${layout}] --${mode} ${script}: OTEL_NODE_DISABLED_PLUGINS=acme-db ignores the package's "otel" field, quietly`, async () => {
      const { res, mine } = await run(layout, mode, script, SOLO, { env: { OTEL_NODE_DISABLED_PLUGINS: 'acme-db' }, expect: 2 });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, 'ok hi 1\n');
      assert.equal(res.stderr, '');
      await settle();
      const spans = mine();
      assert.ok(spans.some((s) => s.kind === 'SPAN_KIND_SERVER'), names(spans));
      assert.equal(spans.filter((s) => s.name === 'acme-db.query').length, 0, names(spans));
    });
  }

  test(`[${layout}] with only acme-db installed, stderr stays empty and acme-db.query arrives`, async () => {
    const { res, spans } = await run(layout, 'require', 'app.cjs', SOLO);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'ok hi 1\n');
    assert.equal(res.stderr, '');
    const { query } = checkQuerySpan(spans);
    assert.equal(query.resource['telemetry.distro.name'], undefined, 'no distro installed');
    assert.equal(query.attributes['acme.processed'], undefined, 'no distro configurator ran');
  });

  for (const [mode, never, uses] of [
    ['require', 'never.cjs', 'app.cjs'],
    ['import', 'never.mjs', 'app.mjs'],
  ]) {
    test(`[${layout}] --${mode}: acme-db's otel/instrumentation.js is loaded only by an app that loads acme-db`, async () => {
      const lazy = await loadedFiles(layout, mode, never);
      const acme = realpathSync(join(app(layout, SOLO), 'node_modules', 'acme-db'));
      const instrumentationFile = join(acme, 'otel', 'instrumentation.js');
      assert.equal(lazy.res.stdout, 'ok hi\n');
      assert.ok(lazy.files.some((f) => f.includes('fixture-target')), "the probe saw the app's own require");
      assert.deepEqual(lazy.files.filter((f) => f.startsWith(acme)), [], 'nothing of acme-db is loaded');
      assert.ok(!lazy.files.includes(instrumentationFile));
      // The control: the same app dir, an app that does use acme-db.
      const used = await loadedFiles(layout, mode, uses);
      assert.equal(used.res.stdout, 'ok hi 1\n');
      assert.ok(used.files.includes(instrumentationFile), `${instrumentationFile} loaded once acme-db is: ${used.files.filter((f) => f.includes('acme')).join(', ')}`);
    });
  }
}

/** Runs `script` with the require.cache probe; returns the files loaded through require(). */
async function loadedFiles(layout, mode, script) {
  const out = join(tmp, `loaded-${n++}.json`);
  const { res } = await run(layout, mode, script, SOLO, { nodeArgs: ['--require', PROBE], env: { LOADED_PROBE_OUT: out }, expect: 0 });
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stderr, '');
  return { res, files: JSON.parse(readFileSync(out, 'utf8')) };
}
