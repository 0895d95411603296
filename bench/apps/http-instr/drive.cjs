'use strict';
// The server side of one request without the network, shared by bench/apps/http-instr/inproc.cjs
// and bench/apps/alloc/child.cjs: a real IncomingMessage and ServerResponse on an unconnected
// socket, Node's http.server.request.start publication (as parserOnIncoming does),
// server.emit('request') into a hello-world handler (node:http, or Express with app 'express':
// the one of bench/apps/steady/hello-express.cjs), then the response's 'finish' and 'close'.
const http = require('node:http');
const net = require('node:net');
const dc = require('node:diagnostics_channel');

/** A function that serves one request each call. */
exports.driver = function driver(app) {
  const start = dc.channel('http.server.request.start');
  const express = app === 'express';
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
  return function one() {
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
  };
};
