// The demo behind `npm run demo`: a small Express shop that calls itself, so the viewer has
// something to show with nothing else running (no database, no collector). Run it under the viewer:
//   node bin/otel-instrument.js --viewer --service-name demo --node-disabled-instrumentations net node examples/viewer-demo/app.cjs
// (net is off only because its tcp.connect spans start their own traces next to fetch's.)
// It requests itself at start, then every 3 s; --once stops after the first round.
const express = require('express');
const { logs } = require('@opentelemetry/api');

const logger = logs.getLogger('viewer-demo');
const users = { 1: 'Ada', 2: 'Grace', 7: 'Linus' };
const app = express();

app.get('/users/:id', (req, res) => {
  const name = users[req.params.id];
  if (name === undefined) return res.status(404).json({ error: 'no such user' });
  res.json({ id: Number(req.params.id), name });
});

app.get('/orders/:id', async (req, res) => {
  // A client call to our own /users route: one trace, a client span with a server span under it.
  const user = await (await fetch(`${base}/users/${Object.keys(users)[Number(req.params.id) % 3]}`)).json();
  await new Promise((r) => setTimeout(r, 5 + Math.random() * 20)); // stands in for real work
  const total = Number(req.params.id) * 9.5;
  logger.emit({ severityNumber: 9, severityText: 'INFO', body: `order ${req.params.id} priced for ${user.name}`, attributes: { 'demo.order.total': total } });
  res.json({ order: Number(req.params.id), user: user.name, total });
});

app.get('/fail', () => {
  throw new Error('the demo fails here on purpose');
});

// Answers errors without Express's default stack trace on stderr: the trace shows the failure.
app.use((err, req, res, _next) => res.status(500).json({ error: err.message }));

let base = '';
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', async () => {
  base = `http://127.0.0.1:${server.address().port}`;
  console.log(`demo app at ${base}/ (try ${base}/orders/3); it calls itself every 3 s, Ctrl-C stops`);
  let n = 1;
  const round = async () => {
    for (const path of [`/orders/${n++}`, '/users/7', '/fail']) {
      const res = await fetch(base + path);
      console.log(`demo: GET ${path} -> ${res.status}`);
      await res.arrayBuffer();
    }
  };
  await round();
  if (process.argv.includes('--once')) return server.close();
  setInterval(round, 3000);
});
