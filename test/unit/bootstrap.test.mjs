// otel-bootstrap's pure parts: lockfiles written by real npm, pnpm, yarn classic and yarn berry
// (test/fixtures/bootstrap), package manager detection and commands, matching installed
// versions against ranges, and picking an instrumentation release from registry metadata.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CATALOG } from '../../dist/catalog/catalog.generated.js';
import { EXTRAS } from '../../dist/catalog/extras.js';
import { parseConfig } from '../../dist/config/parse.js';
import { BootstrapError } from '../../dist/bootstrap/errors.js';
import { lockfileTrees } from '../../dist/bootstrap/lockfile.js';
import { match } from '../../dist/bootstrap/match.js';
import { detectPackageManager, installCommand } from '../../dist/bootstrap/package-manager.js';
import { pickVersion } from '../../dist/bootstrap/pick-version.js';
import { expandPatterns, readProject } from '../../dist/bootstrap/project.js';
import { selectInstrumentations } from '../../dist/selection.js';
import { ROOT } from '../helpers/run.mjs';

const FIX = join(ROOT, 'test', 'fixtures', 'bootstrap');
const sorted = (set) => [...(set ?? [])].sort();

for (const [dir, lockfile, pm] of [
  ['mono-npm', 'package-lock.json', 'npm'],
  ['mono-pnpm', 'pnpm-lock.yaml', 'pnpm'],
  ['mono-yarn', 'yarn.lock', 'yarn'],
  ['mono-berry', 'yarn.lock', 'yarn'],
]) {
  test(`${dir}: each workspace's closure from the ${lockfile} ${pm} wrote`, () => {
    const project = readProject(join(FIX, dir));
    assert.deepEqual(project.workspaces.map((w) => w.rel), ['.', 'packages/a', 'packages/b']);
    const found = detectPackageManager(project);
    assert.equal(found.name, pm);
    assert.equal(found.berry, dir === 'mono-berry');
    const trees = lockfileTrees(project, lockfile);
    const a = trees.get('packages/a');
    const b = trees.get('packages/b');
    assert.deepEqual(sorted(a.direct), ['b', 'ms']);
    // a uses ms 2.1.3 itself, and through its sibling b: ms 2.0.0 and debug's ms 2.1.2.
    assert.deepEqual(sorted(a.versions.get('ms')), ['2.0.0', '2.1.2', '2.1.3']);
    assert.deepEqual(sorted(a.versions.get('debug')), ['4.3.4']);
    assert.deepEqual(sorted(b.direct), ['debug', 'ms']);
    assert.deepEqual(sorted(b.versions.get('ms')), ['2.0.0', '2.1.2']);
    assert.equal(trees.get('.').versions.size, 0);
  });
}

for (const pm of ['npm', 'pnpm', 'yarn']) {
  test(`${pm}: a direct dependency and a transitive one from the real lockfile`, () => {
    const project = readProject(join(FIX, pm));
    const { lockfile } = detectPackageManager(project);
    const tree = lockfileTrees(project, lockfile).get('.');
    assert.deepEqual(sorted(tree.versions.get('fastify')), ['5.12.8']);
    assert.ok(tree.direct.has('fastify'));
    assert.deepEqual(sorted(tree.versions.get('pino')), ['10.4.0']);
    assert.ok(!tree.direct.has('pino'), 'pino comes with fastify');
  });
}

test('a running command inside a workspace focuses on it', () => {
  const project = readProject(join(FIX, 'mono-pnpm', 'packages', 'b'));
  assert.equal(project.root, join(FIX, 'mono-pnpm'));
  assert.equal(project.focus?.name, 'b');
});

function tmpProject(files) {
  const dir = mkdtempSync(join(tmpdir(), 'otel-bootstrap-unit-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('an unreadable lockfile, an old pnpm lockfile and a broken package.json are one clear error each', (t) => {
  const dirs = [];
  t.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const pkg = JSON.stringify({ name: 'x', dependencies: { pg: '8.0.0' } });
  const cases = [
    [{ 'package.json': pkg, 'package-lock.json': '{ not json' }, 'package-lock.json', /package-lock\.json cannot be read: .*JSON/],
    [{ 'package.json': pkg, 'pnpm-lock.yaml': "lockfileVersion: 5.4\ndependencies:\n  pg: 8.0.0\n" }, 'pnpm-lock.yaml', /lockfileVersion 5\.4 is older than 6/],
    [{ 'package.json': pkg, 'yarn.lock': 'pg@8.0.0:\n      version "8.0.0"\n' }, 'yarn.lock', /yarn\.lock cannot be read: line 2 is indented under no section/],
  ];
  for (const [files, lockfile, message] of cases) {
    const dir = tmpProject(files);
    dirs.push(dir);
    assert.throws(() => lockfileTrees(readProject(dir), lockfile), (err) => err instanceof BootstrapError && message.test(err.message));
  }
  const broken = tmpProject({ 'package.json': '{ "name": ' });
  dirs.push(broken);
  assert.throws(() => readProject(broken), /package\.json cannot be read: it is not valid JSON/);
});

test('package manager: "packageManager" first, then the lockfile, then npm; a conflict is a warning', (t) => {
  const dir = tmpProject({ 'package.json': JSON.stringify({ name: 'x', packageManager: 'pnpm@9.1.0+sha512.abc' }), 'package-lock.json': '{}' });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pm = detectPackageManager(readProject(dir));
  assert.equal(pm.name, 'pnpm');
  assert.match(pm.warning, /package-lock\.json is also present; using pnpm/);
  const none = tmpProject({ 'package.json': '{}' });
  t.after(() => rmSync(none, { recursive: true, force: true }));
  assert.deepEqual(detectPackageManager(readProject(none)).name, 'npm');
});

test('install commands: exact versions, the workspace chosen by flag, the root of a monorepo allowed', () => {
  const specs = ['@fastify/otel@0.21.2'];
  const cmd = (dir, ws) => {
    const project = readProject(join(FIX, dir));
    const w = project.workspaces.find((x) => x.rel === ws);
    const { command, args } = installCommand(detectPackageManager(project), project, w, specs);
    return [command, ...args].join(' ');
  };
  assert.equal(cmd('npm', '.'), 'npm install --save-exact @fastify/otel@0.21.2');
  assert.equal(cmd('mono-npm', 'packages/a'), 'npm install --save-exact --workspace a @fastify/otel@0.21.2');
  assert.equal(cmd('mono-pnpm', 'packages/a'), 'pnpm add --save-exact --filter a @fastify/otel@0.21.2');
  assert.equal(cmd('mono-pnpm', '.'), 'pnpm add --save-exact --workspace-root @fastify/otel@0.21.2');
  assert.equal(cmd('pnpm', '.'), 'pnpm add --save-exact @fastify/otel@0.21.2');
  assert.equal(cmd('mono-yarn', 'packages/b'), 'yarn workspace b add --exact @fastify/otel@0.21.2');
  assert.equal(cmd('mono-yarn', '.'), 'yarn add --exact --ignore-workspace-root-check @fastify/otel@0.21.2');
  assert.equal(cmd('mono-berry', '.'), 'yarn add --exact @fastify/otel@0.21.2');
});

test('workspace globs: *, ** and negation', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'otel-bootstrap-glob-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(FIX, 'mono-npm', 'packages'), join(dir, 'packages'), { recursive: true });
  cpSync(join(FIX, 'mono-npm', 'packages', 'a'), join(dir, 'apps', 'web', 'site'), { recursive: true });
  const rel = (list) => list.map((d) => d.slice(dir.length + 1));
  assert.deepEqual(rel(expandPatterns(dir, ['packages/*', '!packages/b'])), ['packages/a']);
  assert.deepEqual(rel(expandPatterns(dir, ['apps/**'])), ['apps/web/site']);
});

function tree(versions, direct) {
  return { versions: new Map(Object.entries(versions).map(([k, v]) => [k, new Set(v)])), direct: new Set(direct) };
}

test('matching: supported, unsupported with the reason, prerelease, transitive, disabled, installable', () => {
  const values = parseConfig({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'mysql2' }).values;
  const selected = new Set(selectInstrumentations(values, CATALOG).map((d) => d.name));
  const rows = match({
    workspace: 'app',
    tree: tree({ pg: ['8.11.0'], express: ['3.21.2'], koa: ['3.0.0-alpha.1'], mongodb: ['6.3.0'], mysql2: ['3.9.0'], fastify: ['5.2.0'], typeorm: ['0.2.45'], sequelize: ['6.37.0'], redis: ['6.4.0'] }, ['pg', 'express', 'koa', 'mysql2', 'fastify', 'typeorm', 'sequelize']),
    plugins: [],
    pluginInstrumentations: [],
    values,
    selected,
  });
  const row = (lib) => rows.find((r) => r.library === lib);
  assert.equal(row('pg').status, 'active');
  assert.equal(row('pg').source, 'bundled');
  assert.equal(row('express').status, 'unsupported');
  assert.match(row('express').reason, /^express 3\.21\.2 is outside @opentelemetry\/instrumentation-express \S+'s supported range >=4\.0\.0 <6$/);
  assert.equal(row('koa').status, 'unsupported');
  assert.match(row('koa').reason, /koa 3\.0\.0-alpha\.1 is a prerelease, which .* does not include/);
  assert.equal(row('mongodb').status, 'active');
  assert.equal(row('mongodb').direct, false);
  assert.equal(row('mysql2').status, 'disabled');
  assert.match(row('mysql2').reason, /OTEL_NODE_DISABLED_INSTRUMENTATIONS lists "mysql2"/);
  // Bundled beyond upstream's set (docs/plugins.md): active like the catalog's own.
  assert.deepEqual([row('fastify').status, row('fastify').source, row('fastify').instrumentation], ['active', 'bundled', '@fastify/otel']);
  assert.equal(rows.filter((r) => r.library === 'fastify').length, 1, 'one row: not also installable');
  // redis >= 4 wraps @redis/client, which instrumentation-redis patches: not unsupported.
  assert.equal(row('redis').status, 'active');
  assert.equal(row('sequelize').status, 'missing');
  assert.equal(row('sequelize').instrumentation, '@opentelemetry/instrumentation-sequelize');
  assert.equal(row('typeorm').status, 'unsupported');
});

test('the installable table neither repeats nor shadows a bundled instrumentation', () => {
  const bundled = new Set(CATALOG.map((d) => d.name));
  const targets = new Set(CATALOG.flatMap((d) => d.modules.map((m) => m.name)));
  for (const e of EXTRAS) {
    assert.ok(!bundled.has(e.name), e.name);
    for (const m of e.modules) assert.ok(!targets.has(m.name), `${m.name} is already instrumented by a bundled package`);
  }
});

const OURS = { '@opentelemetry/api': '1.10.0', '@opentelemetry/instrumentation': '0.300.0', '@opentelemetry/core': '3.0.0', '@opentelemetry/sdk-trace': '3.0.0' };
const v = (peerApi, deps = {}, extra = {}) => ({ peerDependencies: { '@opentelemetry/api': peerApi }, dependencies: deps, ...extra });

test('version picking: the newest release that shares our API and SDK', () => {
  const packument = {
    versions: {
      '1.0.0': v('^1.3.0', { '@opentelemetry/instrumentation': '^0.300.0' }),
      '1.1.0': v('^1.3.0', { '@opentelemetry/instrumentation': '^0.222.0' }),
      '1.2.0-rc.1': v('^1.3.0'),
      '1.2.0': v('^1.3.0', {}, { deprecated: 'broken' }),
      '1.3.0': v('^1.11.0'),
      '1.4.0': v('^1.3.0', { '@opentelemetry/sdk-trace': '^2.0.0' }),
    },
  };
  const picked = pickVersion('x', packument, { ours: OURS });
  assert.deepEqual(picked, { ok: true, version: '1.1.0', notes: ['brings its own @opentelemetry/instrumentation ^0.222.0 (otel-autoinstrument has 0.300.0)'] });
});

test('version picking: none fits is a reason naming the conflict, never an incompatible pick', () => {
  const packument = { versions: { '2.0.0': v('^2.0.0'), '1.0.0': v('>=1.11.0 <2') } };
  const picked = pickVersion('x', packument, { ours: OURS });
  assert.equal(picked.ok, false);
  assert.equal(picked.reason, 'no release of x works with the OpenTelemetry API and SDK that otel-autoinstrument uses: the newest, 2.0.0, needs @opentelemetry/api ^2.0.0 (otel-autoinstrument has 1.10.0)');
  // An API listed as a plain dependency counts too: it would install a second copy.
  assert.equal(pickVersion('y', { versions: { '1.0.0': { dependencies: { '@opentelemetry/api': '~1.9.0' } } } }, { ours: OURS }).ok, false);
});

test('version picking: lockstep majors (Prisma) pick within the target major only', () => {
  const packument = { versions: { '5.22.0': v('^1.8'), '6.1.0': v('^1.8'), '6.2.1': v('^1.8'), '7.0.0': v('^1.8') } };
  assert.equal(pickVersion('@prisma/instrumentation', packument, { ours: OURS, major: { of: '@prisma/client', value: 6 } }).version, '6.2.1');
  const none = pickVersion('@prisma/instrumentation', packument, { ours: OURS, major: { of: '@prisma/client', value: 4 } });
  assert.equal(none.reason, "@prisma/instrumentation has no release for @prisma/client 4.x (it follows @prisma/client's major version)");
});
