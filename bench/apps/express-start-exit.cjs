// Benchmark workload: load Express, build an app with one route, listen on an ephemeral
// loopback port, close the server and let the process exit. No request is made.
const express = require('express');

const app = express();
app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
const server = app.listen(0, '127.0.0.1', () => server.close());
