// Real database servers for e2e tests: each start*() runs a private instance in a fresh temp dir,
// listening only on 127.0.0.1 on a free port (unix sockets, if any, inside the temp dir), waits
// until the test user can log in over TCP, and resolves
//   { name, host, port, user, password, database, stop() }
// stop() kills the server and removes the temp dir.
//
// When a server binary is missing it resolves { skip: reason } instead, except with CI=true,
// where it throws (CI must not silently skip). `bash .ci/services.sh` installs what is needed.
//
// TEST_SERVICES_PATH (test-only): a PATH-like list of directories that replaces every place the
// server binaries are searched for (PATH, /usr/sbin, /usr/lib/postgresql/*/bin). Used to check the
// skip / CI-failure behaviour, e.g. TEST_SERVICES_PATH=/nonexistent.
import { spawn } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 10000;
const PROBE_TIMEOUT_MS = 3000;
const USER = 'otel';
const PASSWORD = 'otel-e2e-pw';
const DATABASE = 'otel_e2e';

// ---------------------------------------------------------------------------------------------
// Binaries

function isExecutable(p) {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Directories searched for server binaries, most specific first. */
function searchDirs(extra = []) {
  const override = process.env.TEST_SERVICES_PATH;
  if (override !== undefined) return override.split(delimiter).filter(Boolean);
  const path = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  // sbin is often not on a normal user's PATH, but mariadbd lives there.
  return [...new Set([...extra, ...path, '/usr/local/sbin', '/usr/sbin', '/sbin'])];
}

/** { dir, paths: {name: absolute path} } for the first directory holding all `names`, or null. */
function findTogether(names, dirs) {
  for (const dir of dirs) {
    const paths = Object.fromEntries(names.map((n) => [n, join(dir, n)]));
    if (Object.values(paths).every(isExecutable)) return { dir, paths };
  }
  return null;
}

/** Every name in `names`, each from the first directory that has it, or null if one is missing. */
function findEach(names, dirs) {
  const paths = {};
  for (const n of names) {
    const dir = dirs.find((d) => isExecutable(join(d, n)));
    if (dir === undefined) return null;
    paths[n] = join(dir, n);
  }
  return paths;
}

/** Debian's /usr/lib/postgresql/<major>/bin directories, newest major first. */
function postgresBinDirs() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(base, v, 'bin'));
}

function missing(reason) {
  const msg = `${reason}; run \`bash .ci/services.sh\` to install it`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${msg}`);
  return { skip: msg };
}

// ---------------------------------------------------------------------------------------------
// Processes

/** A port that was free a moment ago on 127.0.0.1 (the caller retries if it is taken meanwhile). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `promise`, or a rejection after `ms` (so one stuck probe cannot outlive the deadline). */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Servers still running, killed synchronously if the test process exits without stop(). */
const live = new Set();
process.on('exit', () => {
  for (const s of live) {
    try {
      s.child.kill('SIGKILL');
    } catch {}
    rmSync(s.dir, { recursive: true, force: true });
  }
});

/** Spawns a long-running server; keeps the tail of its output for error messages. */
function spawnServer(cmd, args, { dir, uid, gid, env = {} }) {
  const child = spawn(cmd, args, {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C', LC_ALL: 'C', TZ: 'UTC', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(uid !== undefined ? { uid, gid } : {}),
  });
  const proc = { child, dir, output: '', exited: null };
  const keep = (d) => {
    proc.output = (proc.output + d).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  proc.exitPromise = new Promise((resolve) => {
    child.on('error', (err) => {
      proc.exited ??= { error: err };
      resolve();
    });
    child.on('exit', (code, signal) => {
      proc.exited ??= { code, signal };
      resolve();
    });
  });
  live.add(proc);
  return proc;
}

/** Runs a short command to completion (bounded); rejects with its output on failure. */
function runOnce(cmd, args, { dir, uid, gid, timeoutMs = 30000 }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C', LC_ALL: 'C', TZ: 'UTC' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(uid !== undefined ? { uid, gid } : {}),
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (code ${code}, signal ${signal}):\n${out.slice(-4000)}`));
    });
  });
}

/** Signals the server and waits for it to exit (SIGKILL after STOP_TIMEOUT_MS). */
async function killServer(proc, signal) {
  if (proc.exited === null) {
    proc.child.kill(signal);
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await proc.exitPromise;
    clearTimeout(timer);
  }
  live.delete(proc);
}

/** killServer(), then removes the server's temp dir. */
async function stopServer(proc, signal) {
  await killServer(proc, signal);
  rmSync(proc.dir, { recursive: true, force: true });
}

/**
 * Polls `probe` (which throws until the server is usable) until it succeeds, the server exits,
 * or READY_TIMEOUT_MS passes. Returns true when ready, false when the server exited (e.g. the
 * port was taken); throws on timeout.
 */
async function waitReady(proc, what, probe) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError;
  while (Date.now() < deadline) {
    if (proc.exited !== null) return false;
    try {
      await withTimeout(probe(), PROBE_TIMEOUT_MS, `${what} readiness probe`);
      return true;
    } catch (err) {
      lastError = err;
    }
    await sleep(100);
  }
  throw new Error(`${what} not ready on ${HOST} after ${READY_TIMEOUT_MS} ms (last probe error: ${lastError?.message})\n${proc.output}`);
}

/**
 * Starts a server on a free port, retrying with another port (up to 3 times) if it exits before
 * it is ready, which is what happens when the port got taken between freePort() and bind.
 */
async function startOnFreePort(what, start) {
  let last;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const { proc, probe, info } = await start(port);
    let ready;
    try {
      ready = await waitReady(proc, what, probe);
    } catch (err) {
      await killServer(proc, 'SIGKILL');
      throw err;
    }
    if (ready) return { proc, info };
    last = proc;
    await killServer(proc, 'SIGKILL');
  }
  throw new Error(`${what} exited before it was ready (${JSON.stringify(last.exited)}):\n${last.output}`);
}

/** uid/gid of a system user from /etc/passwd, or undefined. */
function systemUser(name) {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name) return { name, uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {}
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

export async function startPostgres() {
  const bins = findTogether(['initdb', 'postgres'], searchDirs(postgresBinDirs()));
  if (bins === null) return missing('PostgreSQL server (initdb + postgres) not found');

  // PostgreSQL refuses to run as root: run it as the postgres system user (or nobody).
  let runAs;
  if (process.getuid?.() === 0) {
    runAs = systemUser('postgres') ?? systemUser('nobody');
    if (runAs === undefined) throw new Error('running as root and neither a postgres nor a nobody user exists to run PostgreSQL as');
  }
  const ids = runAs ? { uid: runAs.uid, gid: runAs.gid } : {};

  const dir = mkdtempSync(join(tmpdir(), 'otel-e2e-pg-'));
  try {
    if (runAs) chownSync(dir, runAs.uid, runAs.gid);
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
    if (runAs) chownSync(pwfile, runAs.uid, runAs.gid);
    const data = join(dir, 'data');
    await runOnce(
      bins.paths.initdb,
      ['-D', data, '-U', USER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      { dir, ...ids },
    );

    const pg = (await import('pg')).default;
    const pgConnect = async (port, database) => {
      const client = new pg.Client({ host: HOST, port, user: USER, password: PASSWORD, database, connectionTimeoutMillis: 2000 });
      client.on('error', () => {});
      await client.connect();
      return client;
    };

    const { proc, info } = await startOnFreePort('PostgreSQL', async (port) => {
      const proc = spawnServer(
        bins.paths.postgres,
        [
          '-D', data,
          '-c', `listen_addresses=${HOST}`,
          '-c', `port=${port}`,
          '-c', `unix_socket_directories=${dir}`,
          '-c', 'fsync=off',
          '-c', 'synchronous_commit=off',
          '-c', 'full_page_writes=off',
          '-c', 'max_connections=20',
          '-c', 'shared_buffers=16MB',
          '-c', 'logging_collector=off',
        ],
        { dir, ...ids },
      );
      // Ready = the test user can log in over TCP; then create the test database once.
      const probe = async () => {
        const client = await pgConnect(port, 'postgres');
        try {
          const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
          if (rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
        } finally {
          await client.end().catch(() => {});
        }
        await (await pgConnect(port, DATABASE)).end();
      };
      return { proc, probe, info: { port } };
    });
    return {
      name: 'postgresql',
      host: HOST,
      port: info.port,
      user: USER,
      password: PASSWORD,
      database: DATABASE,
      dir,
      // SIGINT = fast shutdown (disconnects clients, no checkpoint wait for them).
      stop: () => stopServer(proc, 'SIGINT'),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Redis

/** One RESP exchange over TCP: AUTH as the test user, then PING; resolves on "+OK" "+PONG". */
function redisPing(port) {
  return new Promise((resolve, reject) => {
    const expected = '+OK\r\n+PONG\r\n';
    const cmd = (...parts) => `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
    const sock = connect({ host: HOST, port });
    let buf = '';
    const done = (err) => {
      sock.destroy();
      err ? reject(err) : resolve();
    };
    sock.on('connect', () => sock.write(cmd('AUTH', USER, PASSWORD) + cmd('PING')));
    sock.on('data', (d) => {
      buf += d;
      if (buf === expected) done();
      else if (!expected.startsWith(buf)) done(new Error(`redis answered ${JSON.stringify(buf)}`));
    });
    sock.on('error', done);
    sock.on('close', () => done(new Error('redis closed the connection')));
  });
}

export async function startRedis() {
  const bins = findEach(['redis-server'], searchDirs());
  if (bins === null) return missing('redis-server not found');
  const dir = mkdtempSync(join(tmpdir(), 'otel-e2e-redis-'));
  try {
    const { proc, info } = await startOnFreePort('Redis', async (port) => {
      const conf = join(dir, 'redis.conf');
      writeFileSync(
        conf,
        [
          `port ${port}`,
          `bind ${HOST}`,
          `unixsocket ${join(dir, 'redis.sock')}`,
          'unixsocketperm 700',
          `dir ${dir}`,
          'save ""',
          'appendonly no',
          'daemonize no',
          'logfile ""',
          // The default (passwordless) user is off; the clients log in as USER with PASSWORD.
          'user default off',
          `user ${USER} on >${PASSWORD} ~* &* +@all`,
          '',
        ].join('\n'),
      );
      chmodSync(conf, 0o600);
      const proc = spawnServer(bins['redis-server'], [conf], { dir });
      return { proc, probe: () => redisPing(port), info: { port } };
    });
    return {
      name: 'redis',
      host: HOST,
      port: info.port,
      user: USER,
      password: PASSWORD,
      database: '0',
      dir,
      stop: () => stopServer(proc, 'SIGTERM'),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// MariaDB

export async function startMariadb() {
  const bins = findEach(['mariadb-install-db', 'mariadbd'], searchDirs());
  if (bins === null) return missing('MariaDB server (mariadb-install-db + mariadbd) not found');
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'otel-e2e-mariadb-'));
  try {
    const data = join(dir, 'data');
    // Small InnoDB files: the defaults write ~110 MB per instance.
    const common = ['--innodb-log-file-size=8M', '--innodb-buffer-pool-size=32M', '--skip-name-resolve', ...(root ? ['--user=root'] : [])];
    await runOnce(
      bins['mariadb-install-db'],
      ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=socket', '--skip-test-db', ...common],
      { dir },
    );
    // Executed by the server at every start: the test database and a password user for TCP.
    const init = join(dir, 'init.sql');
    writeFileSync(
      init,
      [
        `CREATE DATABASE IF NOT EXISTS ${DATABASE};`,
        `CREATE USER IF NOT EXISTS '${USER}'@'${HOST}' IDENTIFIED BY '${PASSWORD}';`,
        `GRANT ALL ON ${DATABASE}.* TO '${USER}'@'${HOST}';`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );

    const mysql = (await import('mysql2/promise')).default;
    const { proc, info } = await startOnFreePort('MariaDB', async (port) => {
      const proc = spawnServer(
        bins.mariadbd,
        [
          '--no-defaults',
          `--datadir=${data}`,
          `--socket=${join(dir, 'mysqld.sock')}`,
          `--pid-file=${join(dir, 'mysqld.pid')}`,
          `--port=${port}`,
          `--bind-address=${HOST}`,
          `--init-file=${init}`,
          '--skip-log-bin',
          '--innodb-flush-log-at-trx-commit=0',
          ...common,
        ],
        { dir },
      );
      const probe = async () => {
        const conn = await mysql.createConnection({ host: HOST, port, user: USER, password: PASSWORD, database: DATABASE, connectTimeout: 2000 });
        await conn.end();
      };
      return { proc, probe, info: { port } };
    });
    return {
      name: 'mariadb',
      host: HOST,
      port: info.port,
      user: USER,
      password: PASSWORD,
      database: DATABASE,
      dir,
      stop: () => stopServer(proc, 'SIGTERM'),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
