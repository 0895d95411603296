'use strict';
// acme-db: a pretend database client. The public API is one function, query(sql), which goes
// through an internal connection (lib/connection.js), as a real client would.
const { Connection } = require('./lib/connection');

const connection = new Connection();

/** Runs `sql`; resolves with `{ rows }` on a later turn of the event loop. */
async function query(sql) {
  return connection.execute(sql);
}

module.exports = { query };
