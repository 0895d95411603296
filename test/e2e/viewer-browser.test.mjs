// The viewer as a person sees it: `npm run demo`'s command runs the Express demo under the viewer,
// and a real headless Chromium opens the page, waits for the Express request's trace, opens its
// waterfall, and finds the metrics. Skipped (reason printed) without Chromium, except under CI=true.
// VIEWER_SCREENSHOTS=docs/images writes the README's screenshots from this very run.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { chromiumMissing, launchChromium } from '../helpers/chromium.mjs';
import { waitFor } from '../helpers/otlp.mjs';
import { killAllApps, ROOT, startApp } from '../helpers/run.mjs';

const missing = chromiumMissing();
if (missing && process.env.CI === 'true') throw new Error(`CI=true and the browser test cannot run: ${missing}`);
if (missing) console.log(`# skipping the viewer browser test: ${missing}`);

let browser;
after(async () => {
  await browser?.close();
  await killAllApps();
});

/** `npm run demo`'s own command line, with the viewer on a free port and this test's node. */
function demoCommand() {
  const words = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.demo.split(' ');
  assert.equal(words[0], 'node');
  assert.equal(words[1], 'bin/otel-instrument.js');
  const args = words.slice(2);
  args.splice(args.indexOf('--viewer') + 1, 0, '--viewer-port', '0');
  return args;
}

test('the demo under the viewer: trace list, waterfall with the express spans and their route, metrics, logs', { skip: missing }, async () => {
  const app = startApp([], join(ROOT, 'bin/otel-instrument.js'), { args: demoCommand(), cwd: ROOT, env: { PATH: `${dirname(process.execPath)}:${process.env.PATH}` } });
  const m = await waitFor(() => /viewer at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(app.stderr), 20000);
  assert.ok(m, app.stderr);
  const url = m[1];
  await app.line('demo: GET /orders/1 -> 200', 30000);
  const shots = process.env.VIEWER_SCREENSHOTS;
  if (shots) mkdirSync(shots, { recursive: true });

  browser = await launchChromium({ width: 1280, height: 760 });
  const { page } = browser;
  await page.goto(url);
  // The list fills in by itself (live updates): the trace of GET /orders/1 shows up with its route.
  const row = `[...document.querySelectorAll('#traces tbody tr')].find((r) => r.innerText.includes('/orders/'))`;
  await page.waitFor(`!!(${row})`, 'the /orders/ trace in the list');
  await page.waitFor(`document.querySelectorAll('#traces tbody tr').length >= 3 && [...document.querySelectorAll('#traces tbody tr')].some((r) => r.innerText.includes('error'))`, 'three traces, one with an error');
  await page.waitFor(`document.querySelector('#live').textContent === 'live'`, 'the live-update stream connected');
  // Live: a trace that was not in the list appears without a reload (the demo calls itself every 3 s).
  const ids = `[...document.querySelectorAll('#traces tbody tr')].map((r) => r.dataset.traceId)`;
  const seen = await page.eval(ids);
  await page.eval(`window.notReloaded = true`);
  await page.waitFor(`window.notReloaded && ${ids}.some((id) => !${JSON.stringify(seen)}.includes(id))`, 'a new trace, live');
  if (shots) await page.screenshot(join(shots, 'viewer-traces.png'));

  // Filters: status "with errors" leaves the GET /fail traces; a minimum duration beyond any leaves none.
  const setFilter = (name, value) => page.eval(`(() => { const e = document.querySelector('form.filters [name=${name}]'); e.value = ${JSON.stringify(value)}; e.dispatchEvent(new Event('change')); })()`);
  await setFilter('status', 'error');
  const roots = `[...document.querySelectorAll('#traces tbody tr')].map((r) => r.cells[1].innerText)`;
  await page.waitFor(`location.search.includes('status=error') && ${roots}.length > 0 && ${roots}.every((n) => n === 'GET /fail')`, 'only the GET /fail traces');
  await setFilter('minDurationMs', '600000');
  await page.waitFor(`document.body.innerText.includes('No trace matches these filters.')`, 'no trace over 10 minutes');
  await page.goto(url);
  await page.waitFor(`!!(${row})`, 'the unfiltered list again');

  const traceId = await page.eval(`(${row}).dataset.traceId`);
  // The list may re-render (live) between two evaluations: click the link of that very trace.
  await page.eval(`document.querySelector('#traces tr[data-trace-id="${traceId}"] a').click()`);
  await page.waitFor(`location.pathname === '/traces/${traceId}' && document.querySelectorAll('#waterfall .span-row').length > 0`, 'the waterfall');
  // The trace's spans and its log record come in more than one export: wait until the waterfall
  // draws all of what is checked, then check it. Express's `request handler` span does not name
  // the route: the waterfall shows it beside it. (Express 5's own `router` gets no router spans:
  // test/e2e/express-router.test.mjs.)
  const rowsJs = `[...document.querySelectorAll('#waterfall .span-row')].map((r) => ({ name: r.dataset.spanName, route: r.querySelector('.route')?.textContent ?? '', service: r.querySelector('.svc').textContent }))`;
  const complete = `((rows) => ['GET /orders/:id', 'GET /users/:id'].every((n) => rows.some((r) => r.name === n))
    && rows.some((r) => r.name === 'request handler' && r.route === '/orders/:id')
    && /Logs of this trace \\(1\\)[\\s\\S]*order \\d+ priced for/.test(document.body.innerText))(${rowsJs})`;
  try {
    await page.waitFor(complete, 'the server span, the express spans with their route, the nested call, the log record');
  } catch (err) {
    throw new Error(`${err.message}\nrows: ${JSON.stringify(await page.eval(rowsJs))}`);
  }
  assert.ok((await page.eval(rowsJs)).every((r) => r.service === 'demo'));

  if (shots) await page.screenshot(join(shots, 'viewer-waterfall.png'));

  // A span's details: its attributes, status and resource.
  await page.eval(`[...document.querySelectorAll('#waterfall .span-row')].find((r) => r.dataset.spanName === 'GET /orders/:id').click()`);
  await page.waitFor(`document.querySelector('#waterfall .details')?.innerText.includes('http.route')`, 'the server span\'s attributes');
  const details = await page.eval(`document.querySelector('#waterfall .details').innerText`);
  assert.match(details, /http\.route\s+\/orders\/:id/);
  assert.match(details, /service\.name\s+demo/);

  await page.goto(`${url}metrics`);
  const metric = (pred) => `[...document.querySelectorAll('#metrics .card')].some((c) => ${pred})`;
  await page.waitFor(metric(`c.dataset.metric === 'http.server.request.duration'`), 'http.server.request.duration');
  await page.waitFor(metric(`c.dataset.metric.startsWith('v8js.')`), 'a v8js.* metric');
  if (shots) {
    const charted = `[...document.querySelectorAll('#metrics polyline')].filter((l) => l.getAttribute('points').split(' ').length >= 4).length >= 6`;
    await page.waitFor(charted, 'charts with four points or more', 60000);
    await page.screenshot(join(shots, 'viewer-metrics.png'));
  }

  await page.goto(`${url}logs`);
  await page.waitFor(`[...document.querySelectorAll('#logs tbody tr')].some((r) => r.innerText.includes('priced for') && r.querySelector('a[href^="/traces/"]'))`, 'a log record linked to its trace');

  await page.goto(`${url}traces/${'0'.repeat(31)}1`);
  await page.waitFor(`document.body.innerText.includes('Trace not found')`, 'the unknown trace page');
});
