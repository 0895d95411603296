'use strict';
// Shared by the steady-state workloads: once the server listens, sends { port } to the parent over
// IPC, then answers { cpu, rss, newSpace } to every 'mark' message (process.cpuUsage(), RSS and
// the size of V8's young generation at that moment), so the parent takes the server's CPU over exactly the measured window. 'exit' closes
// the server and the channel, so the process ends on its own (the launchers' shutdown runs).
function serve(server) {
  const ready = () => process.send({ port: server.address().port });
  if (server.listening) ready();
  else server.once('listening', ready);
  process.on('message', (m) => {
    if (m === 'mark') {
      const young = require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      process.send({ cpu: process.cpuUsage(), rss: process.memoryUsage().rss, newSpace: young ? young.space_size : NaN });
    }
    if (m === 'exit') {
      server.close();
      server.closeAllConnections();
      process.disconnect();
    }
  });
}
module.exports = { serve };
