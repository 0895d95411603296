'use strict';
// Steady-state workload: a node:http hello-world on an ephemeral loopback port. See server-ipc.cjs.
const http = require('node:http');
const { serve } = require('./server-ipc.cjs');

serve(http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('hello world');
}).listen(0, '127.0.0.1'));
