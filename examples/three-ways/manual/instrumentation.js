// Required on the first line of service.js, before anything else is loaded: every module required
// after start() returns is patched (node:http, pg). Options win over the environment.
'use strict';
const { start } = require('otel-autoinstrument');

// Spans on the console unless a collector is named (then everything goes there over OTLP).
const otlp = process.env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined;

start({
  serviceName: process.env.OTEL_SERVICE_NAME ?? 'shop', // the forked prices service sets its own
  resourceAttributes: { 'service.namespace': 'three-ways' },
  tracesExporter: [otlp ? 'otlp' : 'console'],
  metricsExporter: [otlp ? 'otlp' : 'console'],
  logsExporter: [otlp ? 'otlp' : 'console'],
  nodeRuntimeMetrics: ['none'],
});
