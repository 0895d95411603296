'use strict';
// acme-db's own OpenTelemetry instrumentation. otel-autoinstrument finds it through the "otel"
// field of package.json and loads this file only when the app first resolves "acme-db".
const { InstrumentationBase, InstrumentationNodeModuleDefinition } = require('@opentelemetry/instrumentation');
const { SpanKind, SpanStatusCode, context, trace } = require('@opentelemetry/api');

const VERSION = '1.0.0';

class AcmeDbInstrumentation extends InstrumentationBase {
  constructor(config = {}) {
    super('acme-db-instrumentation', VERSION, config);
  }

  init() {
    return new InstrumentationNodeModuleDefinition(
      'acme-db',
      ['>=1.0.0 <2'],
      (exports) => {
        this._wrap(exports, 'query', (original) => this._patchQuery(original));
        return exports;
      },
      (exports) => this._unwrap(exports, 'query'),
    );
  }

  _patchQuery(original) {
    const instrumentation = this;
    return function query(sql, ...rest) {
      const span = instrumentation.tracer.startSpan('acme-db.query', {
        kind: SpanKind.CLIENT,
        attributes: { 'db.system.name': 'acme', 'db.query.text': String(sql) },
      });
      const end = (err) => {
        if (err !== undefined) {
          span.recordException(err);
          span.setStatus({ code: SpanStatusCode.ERROR, message: err && err.message ? err.message : String(err) });
        }
        span.end();
      };
      let result;
      try {
        result = context.with(trace.setSpan(context.active(), span), () => original.call(this, sql, ...rest));
      } catch (err) {
        end(err);
        throw err;
      }
      if (result && typeof result.then === 'function') {
        result.then(
          () => end(),
          (err) => end(err),
        );
      } else {
        end();
      }
      return result;
    };
  }
}

module.exports = { AcmeDbInstrumentation };
