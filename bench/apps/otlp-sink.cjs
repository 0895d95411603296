'use strict';
// A local OTLP/HTTP sink for the steady-state bench, in its own process so that its work does not
// share the load generator's event loop: listens on an ephemeral 127.0.0.1 port, answers 200 to
// every request and discards the body. Sends { port } to the parent over IPC, and { posts, bytes }
// (totals so far) on every 'count' message, with the requests per method and path.
const http = require('node:http');

let posts = 0;
let bytes = 0;
const paths = {};
const server = http.createServer((req, res) => {
  if (req.method === 'POST') posts++;
  const path = `${req.method} ${req.url.split('?')[0]}`;
  paths[path] = (paths[path] ?? 0) + 1;
  req.on('data', (d) => (bytes += d.length));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': req.headers['content-type'] || 'application/json', 'content-length': 0 });
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (m) => {
  if (m === 'count') process.send({ posts, bytes, paths });
});
process.on('disconnect', () => process.exit(0));
