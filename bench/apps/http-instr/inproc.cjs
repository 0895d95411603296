'use strict';
// Child of bench/http-instr.mjs --inproc: the server side of a request without the network, so the
// instrumentation's own CPU shows without the kernel's share and with little noise from other
// processes on the machine. Per iteration: a real IncomingMessage and ServerResponse on an
// unconnected socket, Node's http.server.request.start publication (as parserOnIncoming does),
// server.emit('request') into a hello-world handler (node:http, or Express with INPROC_APP=express), then the response's 'finish' and 'close'.
// The same for every variant; what differs is what the preloads installed (our register and
// instrumentation-http, or the prototype, or nothing). Prints one JSON line: CPU µs per request,
// median of rounds, each round N requests with the event loop turning every 200 (exports run).
const http = require('node:http');
const net = require('node:net');
const dc = require('node:diagnostics_channel');

const N = Number(process.env.INPROC_N || 20000);
const ROUNDS = Number(process.env.INPROC_ROUNDS || 9);
const start = dc.channel('http.server.request.start');
// INPROC_APP=express: the Express hello-world of bench/apps/steady/hello-express.cjs instead.
const express = process.env.INPROC_APP === 'express';
const handler = express
  ? require('express')().get('/hello/:name', (req, res) => res.send(`hello ${req.params.name}`))
  : (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('hello world');
    };
const server = http.createServer(handler);
const URL_PATH = express ? '/hello/world' : '/';
const socket = new net.Socket();
Object.defineProperties(socket, {
  remoteAddress: { value: '127.0.0.1' },
  remotePort: { value: 40000 },
  server: { value: server },
});
const HEADERS = ['host', '127.0.0.1:3000', 'user-agent', 'autocannon', 'connection', 'keep-alive'];

function one() {
  const req = new http.IncomingMessage(socket);
  req.method = 'GET';
  req.url = URL_PATH;
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  req._addHeaderLines(HEADERS, HEADERS.length);
  req.complete = true;
  const res = new http.ServerResponse(req);
  if (start.hasSubscribers) start.publish({ request: req, response: res, socket, server });
  server.emit('request', req, res);
  res.emit('finish');
  res.emit('close');
}

const tick = () => new Promise((r) => setImmediate(r));
async function round() {
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    one();
    if (i % 200 === 199) await tick();
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / N;
}

(async () => {
  await round();
  await round();
  const rs = [];
  for (let r = 0; r < ROUNDS; r++) rs.push(await round());
  rs.sort((a, b) => a - b);
  process.stdout.write(`${JSON.stringify({ cpuUsPerReq: rs[Math.floor(rs.length / 2)], min: rs[0] })}\n`);
  process.exit(0);
})();
