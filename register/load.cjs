// Shared by both entry files. Old syntax on purpose: an unsupported Node gets one line, not a
// SyntaxError. start() never throws.
module.exports = function load(entry) {
  var v = process.versions.node.split('.').map(Number);
  if (v[0] < 22 || (v[0] === 22 && v[1] < 15)) {
    process.stderr.write('otel-autoinstrument: warning: Node ' + process.versions.node + ' is not supported (need >= 22.15); running without instrumentation\n');
    return;
  }
  // Before the bundle loads, so that the bundle itself comes from the cache (never throws).
  var compileCache = require('../dist/compile-cache.js').enableCompileCache();
  // dist/register.js: the whole startup graph in one file (scripts/bundle.mjs).
  require('../dist/register.js').start({ entry: entry, compileCache: compileCache });
};
