// src/hooks/vendor.ts: which requires the upstream bundle serves, on a package tree made here.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { Vendor } from '../../dist/hooks/vendor.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'otel-vendor-')));
after(() => rmSync(root, { recursive: true, force: true }));
const file = (path, text) => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
  return join(root, path);
};
const pkg = (dir, name, version) => file(`${dir}/package.json`, JSON.stringify({ name, version, main: 'index.js' }));
const nm = 'app/node_modules';
// The canonical copies: what our own package (app/node_modules/ours/dist) resolves.
pkg(`${nm}/@opentelemetry/api`, '@opentelemetry/api', '1.10.0');
file(`${nm}/@opentelemetry/api/index.js`, "module.exports = { copy: 'node api' };");
pkg(`${nm}/@opentelemetry/core`, '@opentelemetry/core', '3.0.0');
file(`${nm}/@opentelemetry/core/index.js`, "module.exports = { copy: 'node core' };");
pkg(`${nm}/dep-of-core`, 'dep-of-core', '1.0.0');
file(`${nm}/dep-of-core/index.js`, "module.exports = { copy: 'top dep-of-core' };");
pkg(`${nm}/@opentelemetry/core/node_modules/dep-of-core`, 'dep-of-core', '2.0.0');
file(`${nm}/@opentelemetry/core/node_modules/dep-of-core/index.js`, "module.exports = { copy: 'core\\'s own dep-of-core' };");
const ours = file(`${nm}/ours/dist/register.js`, '');
// A stand-in for dist/vendor.js.
const bundle = file(`${nm}/ours/dist/vendor.js`, "let edge; exports.setEdge = (f) => { edge = f; }; exports.get = (n) => ({ copy: 'bundle ' + n, edge: (id) => edge(n, id) });");
// Instrumentation packages: one using the top copies, one with a nested other version, one with a nested same version.
const plain = file(`${nm}/instr-plain/dist/index.js`, '');
const older = file(`${nm}/instr-older/dist/index.js`, '');
pkg(`${nm}/instr-older/node_modules/@opentelemetry/api`, '@opentelemetry/api', '1.9.0');
const twin = file(`${nm}/instr-twin/dist/index.js`, '');
pkg(`${nm}/instr-twin/node_modules/@opentelemetry/api`, '@opentelemetry/api', '1.10.0');
// A symlinked layout (pnpm): the link's target is the canonical copy.
mkdirSync(join(root, `${nm}/instr-linked/node_modules/@opentelemetry`), { recursive: true });
symlinkSync(join(root, `${nm}/@opentelemetry/api`), join(root, `${nm}/instr-linked/node_modules/@opentelemetry/api`));
const linked = file(`${nm}/instr-linked/dist/index.js`, '');
const stranger = file(`${nm}/not-ours/index.js`, '');
const appFile = file('app/index.js', '');

const make = (onApi = () => {}) => new Vendor({ '@opentelemetry/api': '1.10.0', '@opentelemetry/core': '3.0.0' }, dirname(ours), new Set(['instr-plain', 'instr-older', 'instr-twin', 'instr-linked']), bundle, onApi);

test('served to our packages where Node finds the same copy at the same version; never to the app or another package', () => {
  let apiCalls = 0;
  const v = make(() => apiCalls++);
  assert.equal(v.serve(appFile, '@opentelemetry/api'), undefined, "the app's own require");
  assert.equal(v.serve(stranger, '@opentelemetry/api'), undefined, 'a package we do not load');
  assert.equal(apiCalls, 0);
  assert.equal(v.serve(plain, '@opentelemetry/api')?.exports.copy, 'bundle @opentelemetry/api');
  assert.equal(apiCalls, 1, 'the API hook runs before the API is first served to a package');
  assert.equal(v.serve(ours, '@opentelemetry/core')?.exports.copy, 'bundle @opentelemetry/core');
  assert.equal(v.serve(linked, '@opentelemetry/api')?.exports.copy, 'bundle @opentelemetry/api', 'a link to the same directory');
  assert.equal(v.serve(older, '@opentelemetry/api'), undefined, 'a nested other version');
  assert.equal(v.serve(twin, '@opentelemetry/api'), undefined, 'a nested copy of the same version is another module instance');
  assert.equal(v.serve(plain, '@opentelemetry/api/build/x'), undefined, 'a subpath');
  assert.equal(v.serve(plain, 'express'), undefined, 'a name the bundle does not hold');
  assert.equal(apiCalls, 1);
  assert.equal(v.served.get('@opentelemetry/api'), 2);
});

test('a require from inside the bundle is decided from the real directory of the requiring package', () => {
  const v = make();
  const core = v.serve(plain, '@opentelemetry/core').exports;
  assert.equal(core.edge('@opentelemetry/api').copy, 'bundle @opentelemetry/api');
  // Not in the bundle: Node's require from core's own directory, which finds core's nested copy.
  assert.equal(core.edge('dep-of-core').copy, "core's own dep-of-core");
});

test('a different version at the canonical place: nothing served', () => {
  const v = new Vendor({ '@opentelemetry/api': '1.11.0' }, dirname(ours), new Set(['instr-plain']), bundle, () => {});
  assert.equal(v.serve(plain, '@opentelemetry/api'), undefined);
});
