// Spans encoded as they end (src/sdk/encoding-processor.ts, the default with our tracer and OTLP)
// reach a real OTLP decoder as they do through upstream's BatchSpanProcessor
// (OTEL_NODE_TRACES_ENCODE_AT_END=false), over each protocol: the same spans, fields and grouping.
// Batches of 8 spans with a resource that needs no asynchronous detector: the first batch's
// export loads the exporter, so every later batch is encoded as its spans end.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startReceiver, waitFor } from '../helpers/otlp.mjs';
import { REGISTER, runNode } from '../helpers/run.mjs';

const SPANS = 50;
let receiver;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());

let n = 0;
const spansOf = (svc) => receiver.spans().filter((s) => s.resource['service.name'] === svc);
/** What must match: everything but the ids and times, which differ from run to run. */
const shape = (s) => JSON.stringify({ name: s.name, scope: s.scope, kind: s.kind, status: s.status, flags: s.flags, attributes: s.attributes, resource: { ...s.resource, 'service.name': undefined, 'process.pid': undefined, 'service.instance.id': undefined } });

for (const protocol of ['http/protobuf', 'http/json', 'grpc']) {
  test(`${protocol}: ${SPANS} spans in batches of 8, encoded as they end, arrive as through upstream's BatchSpanProcessor`, async () => {
    const got = {};
    for (const encode of ['true', 'false']) {
      const svc = `encode-at-end-${n++}`;
      const endpoint = protocol === 'grpc' ? receiver.grpcUrl : receiver.httpUrl;
      const r = await runNode(REGISTER.require, 'loss-app.cjs', {
        args: [String(SPANS)],
        env: { OTEL_SERVICE_NAME: svc, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '8', OTEL_NODE_RESOURCE_DETECTORS: 'env,os', OTEL_NODE_TRACES_ENCODE_AT_END: encode },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.ok(await waitFor(() => spansOf(svc).length >= SPANS, 10000), `${spansOf(svc).length} of ${SPANS} arrived (encode ${encode})`);
      got[encode] = spansOf(svc).map(shape).sort();
      assert.equal(new Set(spansOf(svc).map((s) => s.spanId)).size, SPANS, 'each span once');
    }
    assert.deepEqual(got.true, got.false);
  });
}
