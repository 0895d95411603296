'use strict';
// Preloaded after our register (bench/http-instr.mjs, variant "lean"), with
// OTEL_NODE_DISABLED_INSTRUMENTATIONS=http: the prototype diagnostics_channel server
// instrumentation (dist/instrumentations/http-server) in place of instrumentation-http, under the
// same SDK. LEAN_BIND=false turns off the binding of the request and response emitters.
const { HttpServerInstrumentation } = require('../../../dist/instrumentations/http-server/index.js');

new HttpServerInstrumentation({ bindEmitters: process.env.LEAN_BIND !== 'false' }).enable();
