'use strict';
// Steady-state workload: an Express hello-world with one parameterized route. See server-ipc.cjs.
const express = require('express');
const { serve } = require('./server-ipc.cjs');

const app = express();
app.get('/hello/:name', (req, res) => res.send(`hello ${req.params.name}`));
serve(app.listen(0, '127.0.0.1'));
