// OTLP over TLS: the CA and client-certificate variables reach the exporter (certificates made
// with openssl for 127.0.0.1; the receiver is an https server of the test's own).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { waitFor } from '../helpers/otlp.mjs';
import { REGISTER, runNode } from '../helpers/run.mjs';

let dir;
const pem = (name) => join(dir, name);

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'otel-tls-'));
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', 'ca.key', '-out', 'ca.pem');
  for (const [name, cn, ext] of [
    ['server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1'],
    ['client', 'client', 'extendedKeyUsage=clientAuth'],
  ]) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    writeFileSync(pem(`${name}.ext`), `${ext}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** An https receiver that records the paths it was sent; `mutual` asks for a client certificate. */
async function receiver(mutual) {
  const paths = [];
  const server = createServer(
    { key: readFileSync(pem('server.key')), cert: readFileSync(pem('server.pem')), ca: readFileSync(pem('ca.pem')), requestCert: mutual, rejectUnauthorized: mutual },
    (req, res) => {
      req.resume();
      req.on('end', () => {
        paths.push(req.url);
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    },
  );
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { paths, url: `https://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

const base = { OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };

test('OTEL_EXPORTER_OTLP_CERTIFICATE: spans reach an https endpoint signed by that CA', async () => {
  const r = await receiver(false);
  try {
    const res = await runNode(REGISTER.require, 'http-app.cjs', { env: { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_CERTIFICATE: pem('ca.pem') } });
    assert.equal(res.code, 0, res.stderr);
    assert.ok(await waitFor(() => r.paths.includes('/v1/traces')), res.stderr);
  } finally {
    await r.close();
  }
});

test('without the CA the TLS handshake fails: nothing arrives, the app is unaffected', async () => {
  const r = await receiver(false);
  try {
    const res = await runNode(REGISTER.require, 'http-app.cjs', { env: { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: r.url } });
    assert.equal(res.code, 0);
    assert.equal(res.stdout, 'status=200 body=hello /hello\n');
    assert.deepEqual(r.paths, []);
    assert.match(res.stderr, /certificate/i);
  } finally {
    await r.close();
  }
});

test('mutual TLS: OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE and _CLIENT_KEY are presented', async () => {
  const r = await receiver(true);
  try {
    const env = { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_CERTIFICATE: pem('ca.pem') };
    const without = await runNode(REGISTER.require, 'http-app.cjs', { env });
    assert.equal(without.code, 0);
    assert.deepEqual(r.paths, [], 'refused without a client certificate');
    const res = await runNode(REGISTER.require, 'http-app.cjs', {
      env: { ...env, OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: pem('client.pem'), OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: pem('client.key') },
    });
    assert.equal(res.code, 0, res.stderr);
    assert.ok(await waitFor(() => r.paths.includes('/v1/traces')), res.stderr);
  } finally {
    await r.close();
  }
});

test('a certificate path that does not exist: one warning naming the variable', async () => {
  const res = await runNode(REGISTER.require, 'http-app.cjs', { env: { ...base, OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_CERTIFICATE: '/nonexistent/ca.pem' } });
  assert.equal(res.code, 0);
  assert.equal(res.stderr, 'otel-autoinstrument: warning: OTEL_EXPORTER_OTLP_CERTIFICATE="/nonexistent/ca.pem" is not a readable file; using the system CAs alone\n');
});
