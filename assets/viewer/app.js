// The viewer's page: plain DOM, no framework, no network beyond this viewer's own /api.
'use strict';

const main = document.getElementById('main');
const live = document.getElementById('live');

/** h('tag#id.class', {attr}, ...children): text children are text nodes, never parsed as HTML. */
function h(tag, attrs, ...children) {
  const el = document.createElement(/^[a-z0-9]+/.exec(tag)[0]);
  const id = /#([\w-]+)/.exec(tag);
  if (id) el.id = id[1];
  const classes = [...tag.matchAll(/\.([\w-]+)/g)].map((m) => m[1]);
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

const api = async (path) => {
  const res = await fetch(path, { cache: 'no-store' });
  if (!res.ok) throw Object.assign(new Error(`${path}: HTTP ${res.status}`), { status: res.status });
  return res.json();
};

function ms(d) {
  if (d < 1) return `${(d * 1000).toFixed(0)} µs`;
  if (d < 1000) return `${d < 10 ? d.toFixed(2) : d.toFixed(1)} ms`;
  return `${(d / 1000).toFixed(2)} s`;
}
const time = (t) => new Date(t).toLocaleTimeString(undefined, { hour12: false }) + '.' + String(Math.floor(t % 1000)).padStart(3, '0');
const show = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

function kvTable(obj) {
  const rows = Object.entries(obj || {});
  if (rows.length === 0) return h('p.muted', {}, 'none');
  return h('table', {}, h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('td.mono', {}, k), h('td.mono', {}, show(v))))));
}

// ---- Traces -------------------------------------------------------------------------------
const filters = new URLSearchParams(location.search);

async function renderTraces() {
  const q = new URLSearchParams();
  for (const k of ['service', 'name', 'status', 'minDurationMs']) if (filters.get(k)) q.set(k, filters.get(k));
  // The newest 500 are plenty to look through; the filters reach the rest.
  q.set('limit', '500');
  const data = await api(`/api/traces?${q}`);
  const field = (label, input) => h('label', {}, label, input);
  const onchange = (e) => {
    const f = new FormData(e.currentTarget.form ?? e.currentTarget);
    for (const [k, v] of f) v ? filters.set(k, v) : filters.delete(k);
    history.replaceState(null, '', `/?${filters}`);
    refresh();
  };
  const select = (name, options) =>
    h('select', { name, onchange }, options.map(([v, label]) => h('option', { value: v, selected: filters.get(name) === v || (!filters.get(name) && v === '') }, label)));
  const form = h('form.filters', { onsubmit: (e) => (e.preventDefault(), onchange(e)) },
    field('Service', select('service', [['', 'all'], ...data.services.map((s) => [s, s])])),
    field('Span name or path contains', h('input', { name: 'name', value: filters.get('name') || '', placeholder: 'GET /users', onchange })),
    field('Status', select('status', [['', 'any'], ['error', 'with errors'], ['ok', 'without errors']])),
    field('Min duration (ms)', h('input', { name: 'minDurationMs', type: 'number', min: 0, value: filters.get('minDurationMs') || '', onchange })));
  const dropped = data.dropped.traces ? ` · ${data.dropped.traces} older dropped (cap ${data.limits.maxTraces} traces / ${(data.limits.maxBytes / 1048576).toFixed(0)} MiB)` : '';
  const rows = data.traces.map((t) =>
    h('tr', { 'data-trace-id': t.traceId },
      h('td', {}, t.service),
      h('td', {}, h('a', { href: `/traces/${t.traceId}` }, t.rootName || '(unnamed)', t.rootPath ? h('span.route', {}, ` ${t.rootPath}`) : '')),
      h('td.mono', {}, time(t.startMs)),
      h('td.num', {}, ms(t.durationMs)),
      h('td.num', {}, t.spanCount),
      h('td', {}, t.error ? h('span.err', { title: 'a span has status ERROR' }, '● error') : '')));
  main.replaceChildren(
    h('h1', {}, 'Traces'),
    form,
    h('p.muted', {}, `${data.traces.length} of ${data.usage.traces} traces${dropped}`),
    data.traces.length === 0
      ? h('p.empty', {}, data.usage.traces ? 'No trace matches these filters.' : 'No traces yet: waiting for the app to send some…')
      : h('table#traces', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Service'), h('th', {}, 'Root span'), h('th', {}, 'Start'), h('th.num', {}, 'Duration'), h('th.num', {}, 'Spans'), h('th', {}, ''))), h('tbody', {}, rows)));
}

// ---- One trace: the waterfall ------------------------------------------------------------
const opened = new Set();

function spanDetails(s) {
  return h('div.details', { 'data-details-for': s.spanId },
    h('div.summary', {},
      h('span', {}, 'span ', h('b.mono', {}, s.spanId)),
      h('span', {}, 'kind ', h('b', {}, s.kind)),
      h('span', {}, 'status ', h(s.status.code === 'error' ? 'b.err' : 'b', {}, s.status.code + (s.status.message ? `: ${s.status.message}` : ''))),
      h('span', {}, 'scope ', h('b', {}, s.scope))),
    h('h2', {}, 'Attributes'), kvTable(s.attributes),
    h('h2', {}, `Events (${s.events.length})`),
    s.events.length ? h('table', {}, h('tbody', {}, s.events.map((e) => h('tr', {}, h('td', {}, `${e.name} @ ${time(e.timeMs)}`), h('td.mono', {}, show(e.attributes)))))) : h('p.muted', {}, 'none'),
    h('h2', {}, `Links (${s.links.length})`),
    s.links.length ? h('table', {}, h('tbody', {}, s.links.map((l) => h('tr', {}, h('td.mono', {}, h('a', { href: `/traces/${l.traceId}` }, `${l.traceId} / ${l.spanId}`)), h('td.mono', {}, show(l.attributes)))))) : h('p.muted', {}, 'none'),
    h('h2', {}, 'Resource'), kvTable(s.resource));
}

/** The route or URL path a span's name does not already say (an HTTP client span is just "GET"). */
function pathOf(s) {
  const a = s.attributes;
  let p = a['http.route'] || a['url.path'] || '';
  if (!p && typeof a['url.full'] === 'string') {
    try {
      p = new URL(a['url.full']).pathname;
    } catch {}
  }
  return typeof p === 'string' && !s.name.includes(p) ? p : '';
}

async function renderTrace(id) {
  let data;
  try {
    data = await api(`/api/traces/${id}`);
  } catch (err) {
    if (err.status !== 404) throw err;
    main.replaceChildren(h('h1', {}, 'Trace not found'), h('p.empty', {}, `No trace ${id} in the viewer: never received, or dropped as the oldest.`), h('a', { href: '/' }, '← all traces'));
    return;
  }
  const spans = data.spans;
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map();
  for (const s of spans) {
    const p = ids.has(s.parentSpanId) ? s.parentSpanId : '';
    if (!children.has(p)) children.set(p, []);
    children.get(p).push(s);
  }
  const ordered = [];
  const visit = (parent, depth) => {
    for (const s of (children.get(parent) || []).sort((a, b) => a.startMs - b.startMs)) {
      ordered.push([s, depth]);
      visit(s.spanId, depth + 1);
    }
  };
  visit('', 0);
  const start = Math.min(...spans.map((s) => s.startMs));
  const total = Math.max(...spans.map((s) => s.endMs)) - start || 1;
  const root = ordered[0][0];
  const rows = [];
  for (const [s, depth] of ordered) {
    const left = ((s.startMs - start) / total) * 100;
    const width = ((s.endMs - s.startMs) / total) * 100;
    const bar = h(`div.span-bar.kind-${s.kind}${s.status.code === 'error' ? '.error' : ''}`);
    bar.style.left = `${left}%`;
    bar.style.width = `${width}%`;
    const label = h('div.span-label', { title: s.name },
      h('span', {}, s.status.code === 'error' ? h('span.err', {}, '● ') : '', s.name),
      pathOf(s) ? h('span.route', {}, pathOf(s)) : '',
      h('span.svc', {}, s.service));
    label.style.paddingLeft = `${8 + depth * 16}px`;
    const row = h(`div.span-row${opened.has(s.spanId) ? '.open' : ''}`, { 'data-span-id': s.spanId, 'data-span-name': s.name, onclick: () => (opened.has(s.spanId) ? opened.delete(s.spanId) : opened.add(s.spanId), refresh()) },
      label, h('div.span-dur', {}, ms(s.endMs - s.startMs)), h('div.span-track', {}, bar));
    rows.push(row);
    if (opened.has(s.spanId)) rows.push(spanDetails(s));
  }
  main.replaceChildren(
    h('p', {}, h('a', { href: '/' }, '← all traces')),
    h('h1', {}, root.name, pathOf(root) ? h('span.route', {}, ` ${pathOf(root)}`) : ''),
    h('div.summary', {},
      h('span', {}, 'trace ', h('b.mono', {}, data.traceId)),
      h('span', {}, 'service ', h('b', {}, root.service)),
      h('span', {}, 'start ', h('b', {}, time(start))),
      h('span', {}, 'duration ', h('b', {}, ms(total))),
      h('span', {}, 'spans ', h('b', {}, spans.length))),
    h('p.muted.legend', {}, 'Click a span for its attributes, events, links and status. Bars: ',
      h('span.key.kind-server'), 'server ', h('span.key.kind-client'), 'client ', h('span.key.kind-internal'), 'internal ', h('span.key.error'), 'error'),
    h('div.waterfall#waterfall', {}, rows),
    ...(data.logs.length ? [h('h2', {}, `Logs of this trace (${data.logs.length})`), logTable(data.logs)] : []));
}

// ---- Metrics ------------------------------------------------------------------------------
function spark(points) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 100 40');
  svg.setAttribute('preserveAspectRatio', 'none');
  if (points.length < 2) return svg;
  const vs = points.map((p) => p.value);
  const lo = Math.min(...vs);
  const span = Math.max(...vs) - lo || 1;
  const t0 = points[0].timeMs;
  const dt = points.at(-1).timeMs - t0 || 1;
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', points.map((p) => `${(((p.timeMs - t0) / dt) * 100).toFixed(2)},${(38 - ((p.value - lo) / span) * 36).toFixed(2)}`).join(' '));
  line.setAttribute('vector-effect', 'non-scaling-stroke');
  svg.append(line);
  return svg;
}

const num = (v) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));

function latest(m, s) {
  const p = s.points.at(-1);
  if (p.count === undefined) return `${num(p.value)} ${m.unit}`;
  return `count ${p.count} · mean ${num(p.value)} ${m.unit}${p.max !== undefined ? ` · max ${num(p.max)}` : ''}`;
}

async function renderMetrics() {
  const data = await api('/api/metrics');
  const want = (filters.get('metric') || '').toLowerCase();
  const metrics = data.metrics.filter((m) => m.name.toLowerCase().includes(want));
  const input = h('input', { name: 'metric', value: filters.get('metric') || '', placeholder: 'v8js', onchange: (e) => (filters.set('metric', e.target.value), refresh()) });
  const cards = metrics.map((m) => {
    const first = m.series[0];
    return h('div.card', { 'data-metric': m.name },
      h('h3', {}, m.name),
      h('div.meta', {}, `${m.type}${m.monotonic ? ' (monotonic)' : ''} · ${m.unit || 'no unit'} · ${m.service}${m.series.length > 1 ? ` · ${m.series.length} series` : ''}`),
      first ? h('div.value', {}, latest(m, first)) : '',
      first && Object.keys(first.attributes).length ? h('div.series', {}, show(first.attributes)) : '',
      first ? spark(first.points) : '',
      m.description ? h('div.series', {}, m.description) : '');
  });
  main.replaceChildren(h('h1', {}, 'Metrics'), h('form.filters', { onsubmit: (e) => e.preventDefault() }, h('label', {}, 'Name contains', input)),
    cards.length ? h('div.cards#metrics', {}, cards) : h('p.empty', {}, 'No metrics yet: the app exports them every few seconds…'));
}

// ---- Logs ---------------------------------------------------------------------------------
const SEV = (n) => (n >= 21 ? 'fatal' : n >= 17 ? 'error' : n >= 13 ? 'warn' : n >= 9 ? 'info' : n >= 5 ? 'debug' : n > 0 ? 'trace' : '');

function logTable(logs) {
  return h('table#logs', {},
    h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Severity'), h('th', {}, 'Service'), h('th', {}, 'Body'), h('th', {}, 'Trace'))),
    h('tbody', {}, logs.map((l) => h('tr', {},
      h('td.mono', {}, time(l.timeMs)),
      h(`td.sev-${SEV(l.severityNumber)}`, {}, l.severityText || SEV(l.severityNumber)),
      h('td', {}, l.service),
      h('td.mono', { title: show(l.attributes) }, show(l.body)),
      h('td', {}, l.traceId ? h('a.mono', { href: `/traces/${l.traceId}` }, l.traceId.slice(0, 12) + '…') : '')))));
}

async function renderLogs() {
  const data = await api('/api/logs');
  main.replaceChildren(h('h1', {}, 'Logs'), data.logs.length ? logTable(data.logs) : h('p.empty', {}, 'No log records yet.'));
}

// ---- Routing and live updates -------------------------------------------------------------
function view() {
  const p = location.pathname;
  const m = /^\/traces\/([0-9a-f]+)$/i.exec(p);
  if (m) return ['traces', () => renderTrace(m[1].toLowerCase())];
  if (p === '/metrics') return ['metrics', renderMetrics];
  if (p === '/logs') return ['logs', renderLogs];
  return ['traces', renderTraces];
}

let busy = false;
let again = false;
async function refresh() {
  if (busy) return void (again = true);
  busy = true;
  const [name, render] = view();
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === name);
  try {
    await render();
  } catch (err) {
    main.replaceChildren(h('p.err', {}, `Could not load: ${err.message}`));
  }
  busy = false;
  if (again) {
    again = false;
    refresh();
  }
}

const events = new EventSource('/api/events');
events.onopen = () => ((live.textContent = 'live'), live.classList.add('on'));
events.onerror = () => ((live.textContent = 'reconnecting…'), live.classList.remove('on'));
// A live update never re-renders under a filter being typed into; the next one will.
events.onmessage = () => document.activeElement?.tagName !== 'INPUT' && refresh();
refresh();
