#!/usr/bin/env node
'use strict';
require('../dist/cli/instrument.js').main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => { process.stderr.write('otel-instrument: ' + (err && err.message) + '\n'); process.exit(70); }
);
