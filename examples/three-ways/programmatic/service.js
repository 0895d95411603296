// shop: GET /orders/:id reads the order from a database (PostgreSQL when DATABASE_URL is set, else
// memory), asks a second service, prices (this same script with ROLE=prices), for the prices,
// and answers the total. Run with --once to stop after the first request.
'use strict';
require('./instrumentation'); // first: OpenTelemetry starts before node:http and pg are loaded
const http = require('node:http');
const { fork } = require('node:child_process');

const ORDERS = { 1: [{ sku: 'apple', qty: 3 }, { sku: 'pear', qty: 2 }] };
const PRICES = { apple: 0.5, pear: 0.75 };

async function loadOrder(id) {
  if (!process.env.DATABASE_URL) return ORDERS[id];
  const { Client } = require('pg');
  const db = new Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  try {
    const sql = "SELECT sku, qty FROM (VALUES ('apple', 3), ('pear', 2)) AS items(sku, qty) WHERE $1::int = 1";
    const { rows } = await db.query(sql, [id]);
    return rows.length > 0 ? rows : undefined;
  } finally {
    await db.end();
  }
}

function getJson(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${url}: ${res.statusCode}`))));
    }).on('error', reject);
  });
}

function send(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(value)}\n`);
}

const shop = (pricesUrl) =>
  http.createServer(async (req, res) => {
    const m = /^\/orders\/(\d+)$/.exec(req.url);
    if (!m) return send(res, 404, { error: 'try /orders/1' });
    try {
      const items = await loadOrder(Number(m[1]));
      if (!items) return send(res, 404, { error: 'no such order' });
      const prices = await getJson(`${pricesUrl}/prices?skus=${items.map((i) => i.sku).join(',')}`);
      const total = items.reduce((sum, i) => sum + i.qty * prices[i.sku], 0);
      send(res, 200, { order: Number(m[1]), items, total });
    } catch (err) {
      send(res, 500, { error: err.message });
    }
  });

const prices = () =>
  http.createServer((req, res) => {
    const skus = new URL(req.url, 'http://x').searchParams.get('skus')?.split(',') ?? [];
    send(res, 200, Object.fromEntries(skus.map((s) => [s, PRICES[s] ?? 0])));
  });

if (process.env.ROLE === 'prices') {
  const server = prices().listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => server.close());
} else {
  // The second service runs as its own process; it names itself through the standard variable.
  const child = fork(__filename, [], { env: { ...process.env, ROLE: 'prices', OTEL_SERVICE_NAME: 'prices' } });
  child.once('message', ({ port }) => {
    const server = shop(`http://127.0.0.1:${port}`);
    server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => console.log(`shop: http://127.0.0.1:${server.address().port}/orders/1`));
    if (process.argv.includes('--once')) {
      server.once('request', (req, res) => res.on('finish', () => (server.close(), child.disconnect())));
    }
  });
}
