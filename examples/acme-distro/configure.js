'use strict';
// The acme distro's configurator: otel-autoinstrument calls configure(ctx) once, synchronously,
// before it builds the resource and the providers.

/** @param {import('otel-autoinstrument').ConfiguratorContext} ctx */
function configure(ctx) {
  ctx.addResourceAttributes({ 'acme.configured': true });
  ctx.addSpanProcessor({
    onStart(span) {
      span.setAttribute('acme.processed', true);
    },
    onEnd() {},
    forceFlush: async () => {},
    shutdown: async () => {},
  });
}

module.exports = { configure };
