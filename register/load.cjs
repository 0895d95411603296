// Shared by both entry files. Old syntax on purpose: an unsupported Node gets one line, not a
// SyntaxError. start() never throws.
module.exports = function load(entry) {
  var v = process.versions.node.split('.').map(Number);
  if (v[0] < 22 || (v[0] === 22 && v[1] < 15)) {
    process.stderr.write('otel-autoinstrument: warning: Node ' + process.versions.node + ' is not supported (need >= 22.15); running without instrumentation\n');
    return;
  }
  // OTEL_SDK_DISABLED=true in the environment wins over every other layer the register hook has
  // (a config file, a distro), so nothing else needs reading: the process pays for this file only.
  // Same parse as its row in src/config/table.ts.
  if (String(process.env.OTEL_SDK_DISABLED).trim().toLowerCase() === 'true') {
    try {
      if (/^\s*(debug|verbose|all)\s*$/i.test(String(process.env.OTEL_LOG_LEVEL))) process.stderr.write('otel-autoinstrument: debug: not starting: OTEL_SDK_DISABLED=true\n');
    } catch (e) {
      // stderr is gone: nothing to say it on
    }
    return;
  }
  // dist/register.js, the whole startup graph in one file, loaded with a code cache of its own
  // where there is one (scripts/bundle.mjs, src/bundle-cache.ts).
  require('../dist/register-loader.js').start(entry);
};
