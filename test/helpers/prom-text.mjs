// A strict parser for the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format), for tests to
// compare structure instead of raw strings. It throws on anything a scraper would reject or that
// hides a bug: a sample line that does not parse, an unknown escape, a repeated label, a repeated
// series, HELP or TYPE twice for one family, TYPE after the family's samples, a family whose lines
// are split by another family's, a sample name that does not belong to its family's type.

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
// Go's strconv.ParseFloat, which Prometheus uses, takes Inf/NaN in any case.
const NUMBER = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;

/** Sample names a family of this type may carry. */
function sampleNames(name, type) {
  if (type === 'histogram') return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
  if (type === 'summary') return [name, `${name}_sum`, `${name}_count`];
  return [name];
}

function parseValue(s, where) {
  if (!NUMBER.test(s)) throw new Error(`${where}: bad value ${JSON.stringify(s)}`);
  const l = s.toLowerCase().replace(/^\+/, '');
  if (l === 'nan') return NaN;
  if (l === 'inf' || l === 'infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  return Number(s);
}

/** HELP text: only \\ and \n are escapes. */
function unescapeHelp(s, where) {
  return s.replace(/\\(.?)/g, (_, c) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    throw new Error(`${where}: bad escape \\${c} in HELP`);
  });
}

/** `{a="x",b="y"}` starting at line[i]; returns [labels, index after '}']. */
function parseLabels(line, i, where) {
  const labels = {};
  i++; // '{'
  for (;;) {
    if (line[i] === '}') return [labels, i + 1];
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without '='`);
    const name = line.slice(i, eq).trim();
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (Object.hasOwn(labels, name)) throw new Error(`${where}: label ${name} twice`);
    i = eq + 1;
    if (line[i] !== '"') throw new Error(`${where}: label ${name} value not quoted`);
    i++;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) throw new Error(`${where}: unterminated value of label ${name}`);
      if (c === '"') break;
      if (c === '\\') {
        const e = line[i + 1];
        if (e === '\\' || e === '"') value += e;
        else if (e === 'n') value += '\n';
        else throw new Error(`${where}: bad escape \\${e ?? ''} in label ${name}`);
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    labels[name] = value;
    i++; // closing quote
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`${where}: expected ',' or '}' after label ${name}`);
  }
}

const seriesKey = (name, labels) => `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)))}`;

/**
 * Parses exposition text into families, in order:
 * [{ name, type, help, samples: [{ name, labels, value, timestamp? }] }].
 * A family without TYPE is 'untyped'; without HELP its help is undefined.
 */
export function parse(text) {
  if (typeof text !== 'string') throw new Error(`exposition is not a string: ${typeof text}`);
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const families = [];
  const byName = new Map();
  const series = new Set();
  let current;
  const familyFor = (name, where) => {
    if (current?.name === name) return current;
    if (byName.has(name)) throw new Error(`${where}: family ${name} is split by another family`);
    current = { name, type: 'untyped', help: undefined, samples: [], typed: false, helped: false };
    byName.set(name, current);
    families.push(current);
    return current;
  };
  const lines = text.split('\n');
  lines.pop(); // after the final newline
  lines.forEach((line, n) => {
    const where = `line ${n + 1} ${JSON.stringify(line)}`;
    if (/^\s*$/.test(line)) return;
    if (line.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t](.*))?$/.exec(line);
      if (!m) return; // a comment
      const [, kw, name, rest = ''] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name`);
      const f = familyFor(name, where);
      if (kw === 'HELP') {
        if (f.helped) throw new Error(`${where}: HELP twice for ${name}`);
        f.helped = true;
        f.help = unescapeHelp(rest, where);
      } else {
        if (f.typed) throw new Error(`${where}: TYPE twice for ${name}`);
        if (f.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`);
        const type = rest.trim();
        if (!TYPES.has(type)) throw new Error(`${where}: bad type ${JSON.stringify(type)}`);
        f.typed = true;
        f.type = type;
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (!m) throw new Error(`${where}: bad sample name`);
    const name = m[1];
    let i = name.length;
    let labels = {};
    if (line[i] === '{') [labels, i] = parseLabels(line, i, where);
    const parts = line.slice(i).trim().split(/[ \t]+/);
    if (!/^[ \t]/.test(line.slice(i)) || parts.length < 1 || parts.length > 2 || parts[0] === '') throw new Error(`${where}: expected ' value [timestamp]'`);
    const sample = { name, labels, value: parseValue(parts[0], where) };
    if (parts.length === 2) {
      if (!/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp`);
      sample.timestamp = Number(parts[1]);
    }
    // The family a sample belongs to: the current one when the name fits its type, else its own.
    let f = current && sampleNames(current.name, current.type).includes(name) ? current : undefined;
    if (!f) {
      f = familyFor(name, where);
      if (f.type !== 'untyped' && !sampleNames(f.name, f.type).includes(name)) throw new Error(`${where}: ${name} in a ${f.type} family`);
    }
    const key = seriesKey(name, labels);
    if (series.has(key)) throw new Error(`${where}: series repeated`);
    series.add(key);
    f.samples.push(sample);
  });
  return families.map(({ typed, helped, ...f }) => f);
}

/** The one family called `name`; throws listing the names present when it is missing. */
export function family(families, name) {
  const f = families.find((x) => x.name === name);
  if (!f) throw new Error(`no family ${name} in [${families.map((x) => x.name).join(', ')}]`);
  return f;
}

/** The value of the one sample with exactly this name and label set. */
export function sampleValue(f, name, labels = {}) {
  const key = seriesKey(name, labels);
  const hits = f.samples.filter((s) => seriesKey(s.name, s.labels) === key);
  if (hits.length !== 1) throw new Error(`${hits.length} samples ${key} in ${f.name}: ${JSON.stringify(f.samples)}`);
  return hits[0].value;
}
