'use strict';
// Child of bench/http-instr.mjs --inproc: the server side of a request without the network, so the
// instrumentation's own CPU shows without the kernel's share and with little noise from other
// processes on the machine. Per iteration, drive.cjs: a real IncomingMessage and ServerResponse,
// through server.emit('request') into a hello-world handler (node:http, or Express with
// INPROC_APP=express).
// The same for every variant; what differs is what the preloads installed (our register and
// instrumentation-http, or the prototype, or nothing). Prints one JSON line: CPU µs per request,
// median of rounds, each round N requests with the event loop turning every 200 (exports run).
const { driver } = require('./drive.cjs');

const N = Number(process.env.INPROC_N || 20000);
const ROUNDS = Number(process.env.INPROC_ROUNDS || 9);
// INPROC_APP=express: the Express hello-world of bench/apps/steady/hello-express.cjs instead.
const one = driver(process.env.INPROC_APP === 'express' ? 'express' : 'http');

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
