'use strict';
// The internal part of acme-db: a fake connection that answers on the next turn of the event loop.

class Connection {
  execute(sql) {
    return new Promise((resolve, reject) => {
      setImmediate(() => {
        if (typeof sql !== 'string' || sql.trim() === '') reject(new TypeError('acme-db: query text must be a non-empty string'));
        else resolve({ rows: [{ '?column?': 1 }] });
      });
    });
  }
}

module.exports = { Connection };
