// Bad values for every variable of the configuration table, generated from each one's kind,
// range and allowed values: what the fuzz tests feed the parser and real processes.
import { TABLE } from '../../dist/config/table.js';

/** Values refused by the variables that are checked after the table (instrumentation names, plugins). */
const LATER = {
  OTEL_NODE_ENABLED_INSTRUMENTATIONS: ['nosuch'],
  OTEL_NODE_DISABLED_INSTRUMENTATIONS: ['nosuch'],
};

function byKind(spec) {
  switch (spec.kind) {
    case 'boolean':
      return ['yes', '1', 'trüe'];
    case 'enum':
      return ['bogus', 'ÿ'];
    case 'list':
      return spec.allowed ? ['bogus', 'bogus,,also'] : [];
    case 'url':
      return ['not a url', 'ftp://collector:4318', 'http://', '::::'];
    case 'key-value':
      return ['=x', 'novalue', 'k=%zz'];
    case 'file':
      return ['/nonexistent/dir/file.pem', '/'];
    case 'number': {
      const out = ['abc', 'Infinity', '１２'];
      if (spec.min !== undefined && spec.min >= 0) out.push('-1');
      if (spec.min !== undefined && spec.min >= 1) out.push('0');
      if (spec.integer) out.push('1.5');
      if (spec.max !== undefined) out.push(spec.max >= 1e12 ? '99999999999999999999' : '1e12');
      return out;
    }
    default:
      return [];
  }
}

/** [{ name, value }] for every variable: values the parser itself refuses (or repairs). */
export function parserBadValues() {
  return Object.entries(TABLE).flatMap(([name, spec]) => byKind(spec).map((value) => ({ name, value, sensitive: spec.sensitive })));
}

/** The same, plus the values only a running process refuses. */
export function allBadValues() {
  return [...parserBadValues(), ...Object.entries(LATER).flatMap(([name, values]) => values.map((value) => ({ name, value, sensitive: false })))];
}

/** Blank counts as unset: no warning, whatever the variable. */
export const BLANKS = ['', '   '];
