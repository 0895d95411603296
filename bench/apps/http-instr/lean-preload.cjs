'use strict';
// Preloaded after our register (bench/http-instr.mjs, variant "lean"), with
// OTEL_NODE_DISABLED_INSTRUMENTATIONS=http: the prototype diagnostics_channel server
// instrumentation (dist/instrumentations/http-server) in place of instrumentation-http, under the
// same SDK. LEAN_BIND=false turns off the binding of the request and response emitters, LEAN_BIND=prototype
// binds them through patched prototypes (src/instrumentations/http-server/bind.ts).
const { HttpServerInstrumentation } = require('../../../dist/instrumentations/http-server/index.js');

const bind = process.env.LEAN_BIND;
new HttpServerInstrumentation({ bindEmitters: bind === 'false' ? false : bind === 'prototype' ? 'prototype' : true }).enable();
