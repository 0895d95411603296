// otel-bootstrap end to end, the real CLI (bin/otel-bootstrap.js) in temporary projects.
// - Registry part: the fastify fixture with the lockfile npm, pnpm and yarn each wrote is installed
//   from registry.npmjs.org with that package manager (pnpm and yarn themselves installed from the
//   registry here, all on this Node); bootstrap finds fastify covered by the @fastify/otel we
//   bundle (nothing to install), and the app then runs under the register hook and sends
//   '@fastify/otel' spans to a real OTLP receiver. Skipped with a reason when the registry is
//   unreachable, except under CI=true.
// - Loopback part: version-range cases in a two-workspace monorepo and the failure cases, with a
//   registry of our own on 127.0.0.1.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { REGISTER, ROOT, runCommand } from '../helpers/run.mjs';

const FIX = join(ROOT, 'test', 'fixtures', 'bootstrap');
const BIN = join(ROOT, 'bin', 'otel-bootstrap.js');
const NPM_CLI = '/usr/lib/node_modules/npm/bin/npm-cli.js';
const TOOLS = { pnpm: 'pnpm@12.21.0', yarn: 'yarn@1.22.22' };

const tmp = mkdtempSync(join(tmpdir(), 'otel-bootstrap-e2e-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// A bin directory whose `node` and `npm` are this Node, so npm, pnpm and yarn all run on it.
const BIN_DIR = join(tmp, 'bin');
mkdirSync(BIN_DIR);
symlinkSync(process.execPath, join(BIN_DIR, 'node'));
writeFileSync(join(BIN_DIR, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${NPM_CLI}" "$@"\n`, { mode: 0o755 });
const PATH = [BIN_DIR, join(tmp, 'pm', 'node_modules', '.bin'), process.env.PATH].join(':');

/** Runs a command to completion with npm, pnpm and yarn on PATH running on this Node. */
const run = (cmd, args, { cwd = ROOT, env = {}, timeoutMs = 60000 } = {}) => runCommand(cmd, args, { cwd, timeoutMs, env: { PATH, npm_config_update_notifier: 'false', ...env } });
const bootstrap = (cwd, args, env) => run(process.execPath, [BIN, ...args], { cwd, env });
const json = (r) => JSON.parse(r.stdout);
const show = (r) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
/** Our own lines on stderr (the package manager's output is there too). */
const ours = (r) => r.stderr.split('\n').filter((l) => l.startsWith('otel-bootstrap: '));

/** Every installed copy of @opentelemetry/api under `dir`, as versions (pnpm's store included). */
function apiVersions(dir) {
  const found = new Set();
  const walk = (d, depth) => {
    if (depth > 8 || !existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = join(d, e.name);
      if (p.endsWith(join('@opentelemetry', 'api'))) found.add(JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')).version);
      else walk(p, depth + 1);
    }
  };
  walk(join(dir, 'node_modules'), 0);
  return [...found];
}

describe('with registry.npmjs.org', () => {
  let skip = false;
  let receiver;
  before(async () => {
    const ping = await fetch('https://registry.npmjs.org/@fastify%2fotel', { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, (e) => e);
    if (ping !== true) {
      const why = `registry.npmjs.org unreachable (${ping === false ? 'bad answer' : ping.cause?.code ?? ping.message})`;
      if (process.env.CI === 'true') throw new Error(`${why}; CI=true requires it`);
      console.log(`# skipping the registry tests: ${why}`);
      skip = true;
      return;
    }
    const r = await run(process.execPath, [NPM_CLI, 'install', '--prefix', join(tmp, 'pm'), '--no-audit', '--no-fund', ...Object.values(TOOLS)], { timeoutMs: 60000 });
    assert.equal(r.code, 0, `installing pnpm and yarn: ${show(r)}`);
    receiver = await startReceiver();
  });
  after(() => receiver?.close());

  const INSTALL = { npm: ['npm', ['ci', '--no-audit', '--no-fund']], pnpm: ['pnpm', ['install', '--frozen-lockfile']], yarn: ['yarn', ['install', '--frozen-lockfile', '--non-interactive']] };
  const LOCKFILE = { npm: 'package-lock.json', pnpm: 'pnpm-lock.yaml', yarn: 'yarn.lock' };

  for (const pm of ['npm', 'pnpm', 'yarn']) {
    test(`${pm}: check passes with fastify covered by the bundled @fastify/otel, one API copy, and the app sends its spans`, async (t) => {
      if (skip) return t.skip('registry unreachable');
      const cwd = join(tmp, pm);
      cpSync(join(FIX, pm), cwd, { recursive: true });
      cpSync(join(FIX, 'fastify-app.cjs'), join(cwd, 'app.cjs'));
      const [cmd, args] = INSTALL[pm];
      const installed = await run(cmd, args, { cwd });
      assert.equal(installed.code, 0, show(installed));

      const check = await bootstrap(cwd, ['--action', 'check']);
      assert.equal(check.code, 0, show(check));
      const list = json(await bootstrap(cwd, ['--json']));
      assert.equal(list.packageManager.name, pm);
      assert.equal(list.versionsFrom, 'node_modules');
      const fastify = list.instrumentations.find((r) => r.library === 'fastify');
      assert.deepEqual([fastify.status, fastify.source, fastify.instrumentation], ['active', 'bundled', '@fastify/otel']);
      const pino = list.instrumentations.find((r) => r.library === 'pino');
      assert.deepEqual([pino.status, pino.source, pino.direct], ['active', 'bundled', false]);
      const reqs = await bootstrap(cwd, ['--action', 'requirements']);
      assert.equal(reqs.code, 0, show(reqs));
      assert.equal(reqs.stdout, '');
      assert.ok(!existsSync(join(cwd, 'node_modules', '@fastify', 'otel')), 'nothing installed into the app');
      assert.deepEqual(apiVersions(cwd), ['1.10.0'], 'one copy of the API');

      // The app under the register hook: otel-autoinstrument is linked in as the app's dependency.
      symlinkSync(ROOT, join(cwd, 'node_modules', 'otel-autoinstrument'));
      const service = `bootstrap-${pm}`;
      const app = await run(process.execPath, [...REGISTER.import, 'app.cjs'], {
        cwd,
        env: { OTEL_SERVICE_NAME: service, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.httpUrl, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
        timeoutMs: 20000,
      });
      assert.equal(app.code, 0, show(app));
      assert.match(app.stdout, /^ok 200 \{"hello":"otel"\}/);
      const mine = () => receiver.spans().filter((s) => s.resource['service.name'] === service);
      const spans = await waitFor(() => (mine().some((s) => s.scope === '@fastify/otel') ? mine() : undefined), 5000);
      assert.ok(spans, `@fastify/otel spans: ${mine().map((s) => `${s.scope}:${s.name}`).join(', ')}`);
      assert.ok(spans.some((s) => s.scope === '@fastify/otel' && s.name === 'request'));
    });
  }
});

/** A registry on 127.0.0.1: the packuments given, every tarball a 404. */
async function fakeRegistry(packuments) {
  const server = createServer((req, res) => {
    const name = decodeURIComponent(req.url.slice(1));
    const body = packuments[name];
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { error: 'not found' }));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const version = (name, v, peer) => ({ name, version: v, peerDependencies: { '@opentelemetry/api': peer }, dist: { tarball: `${url}${name}/-/x-${v}.tgz` } });
  const doc = (name, list) => ({ name, 'dist-tags': { latest: list.at(-1)[0] }, versions: Object.fromEntries(list.map(([v, peer]) => [v, version(name, v, peer)])) });
  for (const [name, list] of Object.entries(packuments)) packuments[name] = doc(name, list);
  return { url, close: () => new Promise((r) => server.close(r)) };
}

/** Writes package.json files (and tiny modules) from a map of path -> manifest. */
function writeTree(root, files) {
  for (const [path, content] of Object.entries(files)) {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
}
const pkg = (name, version, dependencies = {}, extra = {}) => ({ name, version, dependencies, ...extra });

describe('on loopback', () => {
  let registry;
  before(async () => {
    registry = await fakeRegistry({
      '@prisma/instrumentation': [['5.22.0', '^1.8'], ['6.2.1', '^1.8'], ['7.0.0', '^1.8']],
      '@opentelemetry/instrumentation-sequelize': [['0.15.0', '^1.3.0'], ['0.30.0', '^2.0.0']],
    });
  });
  after(() => registry?.close());

  // Two workspaces with different versions of the same libraries, installed the way npm lays them
  // out: shared versions hoisted, the other copies under the workspace, workspaces linked.
  function monorepo() {
    const root = mkdtempSync(join(tmp, 'mono-'));
    writeTree(root, {
      'package.json': { name: 'mono', private: true, workspaces: ['packages/*'] },
      'package-lock.json': JSON.stringify({ name: 'mono', lockfileVersion: 3, packages: { '': { workspaces: ['packages/*'] } } }),
      'packages/api/package.json': pkg('api', '1.0.0', { pg: '8.11.0', fastify: '5.2.0', '@prisma/client': '6.2.0' }),
      'packages/web/package.json': pkg('web', '1.0.0', { pg: '7.1.0', fastify: '6.0.0-rc.1', 'orm-lite': '1.0.0', sequelize: '6.37.0', 'acme-otel': '1.0.0' }),
      'node_modules/pg/package.json': pkg('pg', '8.11.0'),
      'node_modules/fastify/package.json': pkg('fastify', '5.2.0'),
      'node_modules/@prisma/client/package.json': pkg('@prisma/client', '6.2.0'),
      'node_modules/orm-lite/package.json': pkg('orm-lite', '1.0.0', { mongodb: '^6.0.0' }),
      'node_modules/mongodb/package.json': pkg('mongodb', '6.3.0'),
      'node_modules/sequelize/package.json': pkg('sequelize', '6.37.0'),
      'node_modules/acme-otel/package.json': pkg('acme-otel', '1.0.0', {}, { otel: { schemaVersion: 1, instrumentations: [{ name: 'orm-lite', entry: './index.js', export: 'OrmLiteInstrumentation', instruments: ['orm-lite@^1'] }] } }),
      'node_modules/acme-otel/index.js': 'exports.OrmLiteInstrumentation = class {};\n',
      'packages/web/node_modules/pg/package.json': pkg('pg', '7.1.0'),
      'packages/web/node_modules/fastify/package.json': pkg('fastify', '6.0.0-rc.1'),
    });
    symlinkSync(join(root, 'packages', 'api'), join(root, 'node_modules', 'api'));
    symlinkSync(join(root, 'packages', 'web'), join(root, 'node_modules', 'web'));
    return root;
  }

  test('a monorepo: each workspace listed with its own versions; supported, unsupported, prerelease, transitive, plugin', async () => {
    const root = monorepo();
    const r = await bootstrap(root, ['--json', '--registry', registry.url]);
    assert.equal(r.code, 0, show(r));
    const a = json(r);
    assert.deepEqual(a.workspaces.map((w) => w.name), ['mono', 'api', 'web']);
    const row = (ws, lib) => a.instrumentations.find((x) => x.workspace === ws && x.library === lib);
    assert.deepEqual([row('api', 'pg').version, row('api', 'pg').status, row('api', 'pg').source], ['8.11.0', 'active', 'bundled']);
    assert.deepEqual([row('web', 'pg').version, row('web', 'pg').status], ['7.1.0', 'unsupported']);
    assert.match(row('web', 'pg').reason, /^pg 7\.1\.0 is outside @opentelemetry\/instrumentation-pg \S+'s supported range >=8\.0\.3 <9$/);
    assert.deepEqual([row('api', 'fastify').status, row('api', 'fastify').source, row('api', 'fastify').instrumentation], ['active', 'bundled', '@fastify/otel']);
    assert.deepEqual([row('web', 'sequelize').status, row('web', 'sequelize').spec], ['missing', '@opentelemetry/instrumentation-sequelize@0.15.0'], 'the newest release that accepts our API 1.10.0');
    assert.deepEqual([row('api', '@prisma/client').status, row('api', '@prisma/client').spec], ['missing', '@prisma/instrumentation@6.2.1'], 'same major as @prisma/client');
    assert.equal(row('web', 'fastify').status, 'unsupported');
    assert.match(row('web', 'fastify').reason, /fastify 6\.0\.0-rc\.1 is a prerelease, which @fastify\/otel \S+'s supported range >=4\.0\.0 <6 does not include/);
    assert.deepEqual([row('web', 'mongodb').status, row('web', 'mongodb').direct], ['active', false], 'a library present only as a dependency of a dependency');
    assert.deepEqual([row('web', 'orm-lite').status, row('web', 'orm-lite').source, row('web', 'orm-lite').instrumentation], ['active', 'plugin', 'acme-otel']);
    assert.deepEqual(a.plugins, [{ workspace: 'web', package: 'acme-otel', version: '1.0.0', instrumentations: ['orm-lite'] }]);
    assert.deepEqual(a.requirements, ['@prisma/instrumentation@6.2.1', '@opentelemetry/instrumentation-sequelize@0.15.0']);

    const text = await bootstrap(root, ['--registry', registry.url]);
    assert.match(text.stdout, /^api \(packages\/api\): npm, versions from node_modules$/m);
    assert.match(text.stdout, /^ {2}mongodb \(transitive\) +6\.3\.0 +@opentelemetry\/instrumentation-mongodb \S+ +active \(bundled\)$/m);
    assert.match(text.stdout, /^4 active, 0 disabled, 2 unsupported, 2 to install, 0 unavailable$/m);

    const dry = await bootstrap(root, ['--action', 'install', '--dry-run', '--registry', registry.url]);
    assert.equal(dry.stdout, ['npm install --save-exact --workspace api @prisma/instrumentation@6.2.1', 'npm install --save-exact --workspace web @opentelemetry/instrumentation-sequelize@0.15.0', ''].join('\n'));
    const web = await bootstrap(root, ['--action', 'requirements', '--workspace', 'web', '--registry', registry.url]);
    assert.equal(web.stdout, '@opentelemetry/instrumentation-sequelize@0.15.0\n');
    const inside = await bootstrap(join(root, 'packages', 'api'), ['--action', 'requirements', '--registry', registry.url]);
    assert.equal(inside.stdout, '@prisma/instrumentation@6.2.1\n', 'run inside a workspace: that workspace');
    const check = await bootstrap(root, ['--action', 'check', '--json', '--registry', registry.url]);
    assert.equal(check.code, 1);
    assert.equal(json(check).ok, false);
    const disabled = await bootstrap(root, ['--json', '--workspace', 'api', '--registry', registry.url], { OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'pg' });
    assert.equal(json(disabled).instrumentations.find((x) => x.library === 'pg').status, 'disabled');
  });

  /** A one-package npm project with sequelize installed (its instrumentation is not) and no lockfile. */
  function sequelizeProject(extra = {}) {
    const root = mkdtempSync(join(tmp, 'app-'));
    writeTree(root, { 'package.json': pkg('app', '1.0.0', { sequelize: '6.37.0' }, extra), 'node_modules/sequelize/package.json': pkg('sequelize', '6.37.0') });
    return root;
  }

  test('failure: no package.json is one line and exit 1', async () => {
    const empty = mkdtempSync(join(tmp, 'empty-'));
    const r = await bootstrap(empty, ['--action', 'list']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.deepEqual(r.stderr.trim().split('\n'), [`otel-bootstrap: no package.json in ${empty} or any directory above it; run otel-bootstrap in your app's directory (or pass --cwd)`]);
  });

  test('failure: an unreadable lockfile is one line and exit 1, for every action', async () => {
    const root = sequelizeProject();
    writeFileSync(join(root, 'pnpm-lock.yaml'), 'lockfileVersion: [unclosed\n');
    for (const action of ['list', 'install']) {
      const r = await bootstrap(root, ['--action', action, '--registry', registry.url]);
      assert.equal(r.code, 1, show(r));
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trim().split('\n').length, 1, show(r));
      assert.match(r.stderr, /^otel-bootstrap: \S+pnpm-lock\.yaml cannot be read: /);
    }
  });

  test('failure: the package manager is missing; nothing is written', async () => {
    const root = sequelizeProject({ packageManager: 'pnpm@12.21.0' });
    const before = readFileSync(join(root, 'package.json'), 'utf8');
    const r = await run(process.execPath, [BIN, '--action', 'install', '--registry', registry.url], { cwd: root, env: { PATH: BIN_DIR } });
    assert.equal(r.code, 1, show(r));
    assert.equal(ours(r).at(-1), 'otel-bootstrap: pnpm is not installed or not on PATH (this project uses pnpm, from "packageManager": "pnpm@12.21.0"); install it (for example with corepack enable) and run again');
    assert.equal(readFileSync(join(root, 'package.json'), 'utf8'), before);
  });

  test('failure: the registry fails the install; npm says why, we exit 1 and package.json is as it was', async () => {
    const root = sequelizeProject();
    const before = readFileSync(join(root, 'package.json'), 'utf8');
    const r = await bootstrap(root, ['--action', 'install'], { npm_config_registry: registry.url, npm_config_cache: join(tmp, 'npm-cache'), npm_config_fetch_retries: '0' });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /404/, "npm's own message is shown");
    assert.equal(ours(r).at(-1), 'otel-bootstrap: npm install --save-exact @opentelemetry/instrumentation-sequelize@0.15.0 failed with exit code 1 (its output is above); package.json and the lockfile are as they were');
    assert.equal(readFileSync(join(root, 'package.json'), 'utf8'), before);
    assert.ok(!existsSync(join(root, 'node_modules', '@opentelemetry', 'instrumentation-sequelize')));
  });

  test('failure: an unreachable registry stops requirements with one line; usage errors exit 2', async () => {
    const root = sequelizeProject();
    const closed = createServer();
    await new Promise((r) => closed.listen(0, '127.0.0.1', r));
    const port = closed.address().port;
    await new Promise((r) => closed.close(r));
    const r = await bootstrap(root, ['--action', 'requirements', '--json', '--registry', `http://127.0.0.1:${port}/`]);
    assert.equal(r.code, 1, show(r));
    assert.equal(r.stdout, '');
    assert.equal(ours(r).at(-1), `otel-bootstrap: cannot pick versions: registry http://127.0.0.1:${port}/ could not be reached for @opentelemetry/instrumentation-sequelize (ECONNREFUSED)`);
    for (const args of [['--action', 'nope'], ['--workspace', 'nope'], ['--timeout', '0']]) assert.equal((await bootstrap(root, args)).code, 2, args.join(' '));
  });
});
