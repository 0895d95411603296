#!/usr/bin/env node
'use strict';
require('../dist/cli/bootstrap.js').main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => { process.stderr.write('otel-bootstrap: ' + (err && err.message) + '\n'); process.exit(70); }
);
