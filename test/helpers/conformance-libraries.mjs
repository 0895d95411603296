// The conformance table: one row per supported library, read by test/e2e/conformance.test.mjs
// (which runs each fixture app and asserts what the row says) and by scripts/gen-support-table.mjs
// (which writes docs/support.md from it). A row with `suite` is tested by that file instead.
//
// Row fields:
//   library    shown in the table; package: the installed package whose version is tested
//   cjs / esm  fixture apps under test/fixtures/apps/conformance (cjs runs under --require and
//              --import, esm under --import); nodeArgs: extra node flags
//   service    'pg' | 'mysql' | 'redis': a real server on 127.0.0.1 (test/helpers/services.mjs)
//   path       the request the app makes to itself; stdout: the line it prints
//   server     what the http SERVER span for `path` must be: its name and http.route (null: absent)
//   spans      other spans: scope, name, kind, parent ('server', another span's id, or
//              'descendant' of the server span), attributes (svc) => exact values, where (a filter)
//   log        a logger row: the message, and whether log records are sent (OTLP logs)

const HTTP = '@opentelemetry/instrumentation-http';
const GET_USER = { path: '/users/42', stdout: (name) => `${name} status=200 body={"id":"42"}` };
const server = (svc) => ({ 'server.address': '127.0.0.1', 'server.port': svc.port });
// Express 5 runs on the `router` package; upstream also loads the router instrumentation for it,
// which records each layer express's instrumentation records a second time. We do not, unless
// OTEL_NODE_EXPRESS_ROUTER_SPANS=true (test/e2e/express-router.test.mjs).
const EXPRESS5_ROUTER = {
  why: "upstream's router instrumentation records express's layers a second time (`middleware - patched`, `request handler - /users/:id`); ours records them once, OTEL_NODE_EXPRESS_ROUTER_SPANS=true restores upstream's set",
  differs: {
    onlyOurs: [],
    onlyUpstream: ['@opentelemetry/instrumentation-router "middleware - patched" SPAN_KIND_INTERNAL', '@opentelemetry/instrumentation-router "request handler - /users/:id" SPAN_KIND_INTERNAL'],
  },
};

export const LIBRARIES = [
  {
    id: 'http-fetch',
    library: 'node:http + fetch (undici)',
    package: null,
    cjs: 'http-fetch.cjs',
    esm: 'http-fetch.mjs',
    path: '/users/42',
    stdout: 'http status=200 body=got leaf',
    // No router: the semantic conventions say http.route must then be absent, and the name is the method alone.
    server: { name: 'GET', route: null },
    spans: [
      { id: 'fetch', scope: '@opentelemetry/instrumentation-undici', name: 'GET', kind: 'CLIENT', parent: 'server', attributes: () => ({ 'http.request.method': 'GET', 'server.address': '127.0.0.1', 'url.path': '/leaf', 'http.response.status_code': 200 }) },
      { id: 'leaf', scope: HTTP, name: 'GET', kind: 'SERVER', parent: 'fetch', where: (s) => s.attributes['url.path'] === '/leaf', attributes: () => ({ 'http.request.method': 'GET', 'http.response.status_code': 200 }) },
    ],
  },
  {
    id: 'express5',
    library: 'Express 5',
    package: 'express',
    cjs: 'express.cjs',
    esm: 'express.mjs',
    ...GET_USER,
    stdout: GET_USER.stdout('express'),
    server: { name: 'GET /users/:id', route: '/users/:id' },
    spans: [
      { scope: '@opentelemetry/instrumentation-express', name: 'middleware - passThrough', kind: 'INTERNAL', parent: 'server', attributes: () => ({ 'express.type': 'middleware' }) },
      { scope: '@opentelemetry/instrumentation-express', name: 'request handler', kind: 'INTERNAL', parent: 'server', attributes: () => ({ 'http.route': '/users/:id', 'express.type': 'request_handler' }) },
    ],
    upstream: EXPRESS5_ROUTER,
  },
  {
    id: 'express4',
    library: 'Express 4',
    package: 'express4',
    cjs: 'express4/app.cjs',
    esm: 'express4/app.mjs',
    // express4/node_modules/express links the `express4` alias; with its link path kept, the
    // module is named express, as in an app that depends on express@4.
    nodeArgs: ['--preserve-symlinks'],
    ...GET_USER,
    stdout: GET_USER.stdout('express'),
    server: { name: 'GET /users/:id', route: '/users/:id' },
    spans: [
      { scope: '@opentelemetry/instrumentation-express', name: 'middleware - passThrough', kind: 'INTERNAL', parent: 'server', attributes: () => ({ 'express.type': 'middleware' }) },
      { scope: '@opentelemetry/instrumentation-express', name: 'request handler - /users/:id', kind: 'INTERNAL', parent: 'server', attributes: () => ({ 'http.route': '/users/:id', 'express.type': 'request_handler' }) },
    ],
  },
  { id: 'fastify5', library: 'Fastify 5', package: 'fastify', suite: 'test/e2e/fastify.test.mjs', modes: 'CJS --require and --import; ESM --import', asserts: 'server span `GET /users/:id` with `http.route`; @fastify/otel `request` (INTERNAL, child of the server span), hook and handler spans under it' },
  { id: 'fastify4', library: 'Fastify 4', package: 'fastify4', suite: 'test/e2e/fastify.test.mjs', modes: 'CJS --require and --import; ESM --import', asserts: 'as Fastify 5' },
  {
    id: 'koa',
    library: 'Koa (+ @koa/router)',
    package: 'koa',
    cjs: 'koa.cjs',
    esm: 'koa.mjs',
    ...GET_USER,
    stdout: GET_USER.stdout('koa'),
    server: { name: 'GET /users/:id', route: '/users/:id' },
    spans: [
      { id: 'mw', scope: '@opentelemetry/instrumentation-koa', name: 'middleware - passThrough', kind: 'INTERNAL', parent: 'server', attributes: () => ({ 'koa.type': 'middleware' }) },
      { scope: '@opentelemetry/instrumentation-koa', name: 'router - /users/:id', kind: 'INTERNAL', parent: 'mw', attributes: () => ({ 'http.route': '/users/:id', 'koa.type': 'router' }) },
    ],
  },
  {
    id: 'connect',
    library: 'Connect',
    package: 'connect',
    cjs: 'connect.cjs',
    esm: 'connect.mjs',
    path: '/users/42',
    stdout: 'connect status=200 body=user 42',
    // Connect routes by mount path only, so the mount path is the route.
    server: { name: 'GET /users', route: '/users' },
    spans: [{ scope: '@opentelemetry/instrumentation-connect', name: 'request handler - /users', kind: 'INTERNAL', parent: 'server', attributes: () => ({ 'http.route': '/users', 'connect.type': 'request_handler' }) }],
  },
  {
    id: 'hapi',
    library: 'Hapi',
    package: '@hapi/hapi',
    cjs: 'hapi.cjs',
    esm: 'hapi.mjs',
    ...GET_USER,
    stdout: GET_USER.stdout('hapi'),
    // http.route is the path template in the framework's own syntax (HTTP semantic conventions).
    server: { name: 'GET /users/{id}', route: '/users/{id}' },
    spans: [{ scope: '@opentelemetry/instrumentation-hapi', name: 'route - /users/{id}', kind: 'INTERNAL', parent: 'server', attributes: () => ({ 'http.route': '/users/{id}', 'hapi.type': 'router' }) }],
  },
  {
    id: 'restify',
    library: 'Restify',
    package: 'restify',
    cjs: 'restify.cjs',
    esm: 'restify.mjs',
    ...GET_USER,
    stdout: GET_USER.stdout('restify'),
    server: { name: 'GET /users/:id', route: '/users/:id' },
    // Known: with restify 12 the instrumentation (0.69.0) ends each span twice. The SDK says so;
    // we print each such message once per process (src/diag.ts), upstream's register not at all
    // by default. The spans are right.
    spans: [
      { id: 'mw', scope: '@opentelemetry/instrumentation-restify', name: 'middleware - passThrough', kind: 'INTERNAL', parent: 'server', attributes: () => ({ 'http.route': '/users/:id', 'restify.type': 'middleware' }) },
      { scope: '@opentelemetry/instrumentation-restify', name: 'request handler - /users/:id', kind: 'INTERNAL', parent: 'mw', attributes: () => ({ 'http.route': '/users/:id', 'restify.type': 'request_handler' }) },
    ],
  },
  {
    id: 'graphql',
    library: 'GraphQL (graphql)',
    package: 'graphql',
    cjs: 'graphql.cjs',
    esm: 'graphql.mjs',
    path: '/graphql',
    stdout: 'graphql status=200 body={"hello":"hello otel"}',
    server: { name: 'GET', route: null },
    spans: [
      { scope: '@opentelemetry/instrumentation-graphql', name: 'graphql.parse', kind: 'INTERNAL', parent: 'server', attributes: () => ({ 'graphql.source': 'query Greet { hello(name: "*") }' }) },
      { id: 'op', scope: '@opentelemetry/instrumentation-graphql', name: 'query Greet', kind: 'INTERNAL', parent: 'server', attributes: () => ({ 'graphql.operation.type': 'query', 'graphql.operation.name': 'Greet' }) },
      { scope: '@opentelemetry/instrumentation-graphql', name: 'graphql.resolve hello', kind: 'INTERNAL', parent: 'op', attributes: () => ({ 'graphql.field.name': 'hello', 'graphql.parent.name': 'Query' }) },
    ],
  },
  {
    id: 'nestjs',
    library: 'NestJS 11 (Express platform)',
    package: '@nestjs/core',
    cjs: 'nestjs.cjs',
    esm: 'nestjs.mjs',
    ...GET_USER,
    stdout: GET_USER.stdout('nestjs'),
    server: { name: 'GET /users/:id', route: '/users/:id' },
    spans: [
      { id: 'ctx', scope: '@opentelemetry/instrumentation-nestjs-core', name: 'UsersController.get', kind: 'INTERNAL', parent: 'descendant', attributes: () => ({ 'http.route': '/users/:id', 'nestjs.type': 'request_context', 'nestjs.controller': 'UsersController' }) },
      { scope: '@opentelemetry/instrumentation-nestjs-core', name: 'get', kind: 'INTERNAL', parent: 'ctx', attributes: () => ({ 'nestjs.type': 'handler', 'nestjs.callback': 'get' }) },
      { scope: '@opentelemetry/instrumentation-express', name: 'request handler', kind: 'INTERNAL', parent: 'descendant', attributes: () => ({ 'http.route': '/users/:id' }) },
    ],
    upstream: EXPRESS5_ROUTER,
  },
  {
    id: 'pg',
    library: 'pg (PostgreSQL)',
    package: 'pg',
    service: 'pg',
    cjs: 'pg.cjs',
    esm: 'pg.mjs',
    path: '/db',
    stdout: 'pg status=200 body=two=2',
    server: { name: 'GET', route: null },
    spans: [
      { scope: '@opentelemetry/instrumentation-pg', name: 'pg.connect', kind: 'CLIENT', parent: 'server', attributes: (svc) => ({ 'db.system.name': 'postgresql', 'db.namespace': svc.database, ...server(svc) }) },
      { scope: '@opentelemetry/instrumentation-pg', name: 'pg.query:SELECT otel_e2e', kind: 'CLIENT', parent: 'server', attributes: (svc) => ({ 'db.system.name': 'postgresql', 'db.namespace': svc.database, 'db.query.text': 'SELECT 1 + 1 AS two', ...server(svc) }) },
    ],
  },
  {
    id: 'knex',
    library: 'knex (over pg)',
    package: 'knex',
    service: 'pg',
    cjs: 'knex.cjs',
    esm: 'knex.mjs',
    path: '/db',
    stdout: 'knex status=200 body=two=2',
    server: { name: 'GET', route: null },
    spans: [
      { id: 'knex', scope: '@opentelemetry/instrumentation-knex', name: 'raw otel_e2e', kind: 'CLIENT', parent: 'server', attributes: (svc) => ({ 'db.system.name': 'postgresql', 'db.operation.name': 'raw', 'db.namespace': svc.database, 'db.query.text': 'SELECT 1 + 1 AS two', ...server(svc) }) },
      { scope: '@opentelemetry/instrumentation-pg', name: 'pg.query:SELECT otel_e2e', kind: 'CLIENT', parent: 'knex', where: (x) => x.attributes['db.query.text'] === 'SELECT 1 + 1 AS two', attributes: (svc) => ({ 'db.system.name': 'postgresql', ...server(svc) }) },
    ],
  },
  {
    id: 'mysql2',
    library: 'mysql2 (MariaDB)',
    package: 'mysql2',
    service: 'mysql',
    cjs: 'mysql2.cjs',
    esm: 'mysql2.mjs',
    path: '/db',
    stdout: 'mysql2 status=200 body=two=2',
    server: { name: 'GET', route: null },
    // mysql2 cannot tell MariaDB from MySQL: the instrumentation says "mysql".
    spans: [{ scope: '@opentelemetry/instrumentation-mysql2', name: 'SELECT', kind: 'CLIENT', parent: 'server', attributes: (svc) => ({ 'db.system.name': 'mysql', 'db.namespace': svc.database, 'db.query.text': 'SELECT 1 + 1 AS two', ...server(svc) }) }],
  },
  {
    id: 'ioredis',
    library: 'ioredis (Redis)',
    package: 'ioredis',
    service: 'redis',
    cjs: 'ioredis.cjs',
    esm: 'ioredis.mjs',
    path: '/db',
    stdout: 'ioredis status=200 body=value=v1',
    server: { name: 'GET', route: null },
    spans: [
      { scope: '@opentelemetry/instrumentation-ioredis', name: 'set', kind: 'CLIENT', parent: 'server', attributes: (svc) => ({ 'db.system.name': 'redis', 'db.operation.name': 'set', 'db.query.text': 'set conformance-key [1 other arguments]', ...server(svc) }) },
      { scope: '@opentelemetry/instrumentation-ioredis', name: 'get', kind: 'CLIENT', parent: 'server', attributes: (svc) => ({ 'db.system.name': 'redis', 'db.operation.name': 'get', 'db.query.text': 'get conformance-key', ...server(svc) }) },
    ],
  },
  {
    id: 'redis',
    library: 'redis (node-redis)',
    package: 'redis',
    service: 'redis',
    cjs: 'redis.cjs',
    esm: 'redis.mjs',
    path: '/db',
    stdout: 'redis status=200 body=value=v2',
    server: { name: 'GET', route: null },
    spans: [
      { scope: '@opentelemetry/instrumentation-redis', name: 'redis-SET', kind: 'CLIENT', parent: 'server', attributes: (svc) => ({ 'db.system.name': 'redis', 'db.operation.name': 'SET', 'db.query.text': 'SET conformance-key [1 other arguments]', ...server(svc) }) },
      { scope: '@opentelemetry/instrumentation-redis', name: 'redis-GET', kind: 'CLIENT', parent: 'server', attributes: (svc) => ({ 'db.system.name': 'redis', 'db.operation.name': 'GET', 'db.query.text': 'GET conformance-key', ...server(svc) }) },
    ],
  },
  ...['pino', 'winston', 'bunyan'].map((name) => ({
    id: name,
    library: name,
    package: name,
    cjs: `${name}.cjs`,
    esm: `${name}.mjs`,
    path: '/log',
    stdout: `${name} status=200 body=logged`,
    server: { name: 'GET', route: null },
    spans: [],
    // winston sends log records only through @opentelemetry/winston-transport, which neither
    // upstream's bundle nor ours installs (docs/plugins.md): its lines are correlated, no records.
    log: { message: `hello from ${name}`, records: name !== 'winston' },
  })),
];
