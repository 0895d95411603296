import { readFileSync } from 'node:fs';
import type { Env } from './parse';

/**
 * The OpenTelemetry declarative configuration file (file_format 1.x), read into the same
 * variables as the environment: each supported key becomes the raw string of one of our
 * variables, which the table then parses and validates like any other source. A key we do not
 * support yet is one warning naming the file, line and key; a file that does not parse, or has
 * the wrong shape, is an error: the caller runs the app uninstrumented rather than half-configured.
 */
export type FileResult = { ok: true; values: Env; warnings: string[] } | { ok: false; error: string };

type Yaml = typeof import('yaml');
type Node = import('yaml').Node;
type YMap = import('yaml').YAMLMap<unknown, unknown>;
type YSeq = import('yaml').YAMLSeq<unknown>;

class FileError extends Error {}

/** ${VAR} and ${VAR:-default}; $$ is a literal $. Unset and no default: empty. */
function substitute(text: string, env: Env): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (m: string, name?: string, def?: string) => {
    if (m === '$$') return '$';
    const v = env[name ?? ''];
    return v !== undefined && v !== '' ? v : (def ?? '');
  });
}

export function loadConfigFile(path: string, env: Env): FileResult {
  let src: string;
  try {
    src = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, error: `${path}: cannot be read (${(err as Error).message.split('\n')[0] ?? ''})` };
  }
  const yaml = require('yaml') as Yaml;
  const lc = new yaml.LineCounter();
  const doc = yaml.parseDocument(src, { lineCounter: lc, version: '1.2' });
  const at = (n: { range?: [number, number, number] | null | undefined } | null | undefined): string => {
    const pos = n?.range ? lc.linePos(n.range[0]) : undefined;
    return pos ? `${path}:${pos.line}` : path;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e?.linePos?.[0];
    return { ok: false, error: `${path}${pos ? `:${pos.line}` : ''}: ${e?.message.split('\n')[0] ?? 'invalid YAML'}` };
  }
  const values: Record<string, string> = {};
  const warnings: string[] = [];
  const root = doc.contents;

  const isMap = (n: unknown): n is YMap => yaml.isMap(n);
  const isSeq = (n: unknown): n is YSeq => yaml.isSeq(n);
  const scalar = (n: unknown, key: string): string => {
    if (!yaml.isScalar(n)) throw new FileError(`${at(n as Node)}: ${key} must be a scalar`);
    return substitute(String(n.value ?? ''), env);
  };
  const entries = (n: unknown, key: string): Array<[string, unknown, Node | null]> => {
    if (!isMap(n)) throw new FileError(`${at(n as Node)}: ${key} must be a mapping`);
    return n.items.map((p) => [String(yaml.isScalar(p.key) ? p.key.value : p.key), p.value, p.key as Node | null]);
  };
  const unsupported = (node: Node | null, key: string): void => {
    warnings.push(`${at(node)}: ${key} is not supported yet; ignored`);
  };
  const set = (name: string, value: string): void => {
    values[name] = value;
  };

  // name/value lists (resource.attributes, headers) become our key=value,... form.
  const pairs = (n: unknown, key: string): string => {
    if (!isSeq(n)) throw new FileError(`${at(n as Node)}: ${key} must be a list of {name, value}`);
    return n.items
      .map((item, i) => {
        const o = Object.fromEntries(entries(item, `${key}[${i}]`).map(([k, v]) => [k, v]));
        return `${encodeURIComponent(scalar(o.name, `${key}[${i}].name`))}=${encodeURIComponent(scalar(o.value, `${key}[${i}].value`))}`;
      })
      .join(',');
  };

  type Signal = 'TRACES' | 'METRICS' | 'LOGS';
  const exporter = (n: unknown, key: string, signal: Signal, exporterVar: string): void => {
    const list = entries(n, key);
    if (list.length !== 1) throw new FileError(`${at(n as Node)}: ${key} must name exactly one exporter`);
    const [[kind, body, node]] = list as [[string, unknown, Node | null]];
    if (kind === 'console') return set(exporterVar, 'console');
    if (kind === 'prometheus' && signal === 'METRICS') {
      set(exporterVar, 'prometheus');
      for (const [k, v, kn] of entries(body, `${key}.prometheus`)) {
        if (k === 'host') set('OTEL_EXPORTER_PROMETHEUS_HOST', scalar(v, k));
        else if (k === 'port') set('OTEL_EXPORTER_PROMETHEUS_PORT', scalar(v, k));
        else unsupported(kn, `${key}.prometheus.${k}`);
      }
      return;
    }
    if (kind !== 'otlp_http' && kind !== 'otlp_grpc') return unsupported(node, `${key}.${kind}`);
    set(exporterVar, 'otlp');
    const p = `OTEL_EXPORTER_OTLP_${signal}`;
    let protocol = kind === 'otlp_grpc' ? 'grpc' : 'http/protobuf';
    for (const [k, v, kn] of entries(body ?? new yaml.YAMLMap(), `${key}.${kind}`)) {
      if (k === 'endpoint') set(`${p}_ENDPOINT`, scalar(v, k));
      else if (k === 'headers') set(`${p}_HEADERS`, pairs(v, `${key}.${kind}.headers`));
      else if (k === 'headers_list') set(`${p}_HEADERS`, scalar(v, k));
      else if (k === 'compression') set(`${p}_COMPRESSION`, scalar(v, k));
      else if (k === 'timeout') set(`${p}_TIMEOUT`, scalar(v, k));
      else if (k === 'encoding' && kind === 'otlp_http') protocol = scalar(v, k) === 'json' ? 'http/json' : 'http/protobuf';
      else if (k === 'temporality_preference' && signal === 'METRICS') set('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', scalar(v, k));
      else if (k === 'default_histogram_aggregation' && signal === 'METRICS') set('OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION', scalar(v, k));
      else unsupported(kn, `${key}.${kind}.${k}`);
    }
    set(`${p}_PROTOCOL`, protocol);
  };

  const batch = (n: unknown, key: string, prefix: 'OTEL_BSP' | 'OTEL_BLRP', signal: Signal, exporterVar: string): void => {
    for (const [k, v, kn] of entries(n, key)) {
      if (k === 'schedule_delay') set(`${prefix}_SCHEDULE_DELAY`, scalar(v, k));
      else if (k === 'export_timeout') set(`${prefix}_EXPORT_TIMEOUT`, scalar(v, k));
      else if (k === 'max_queue_size') set(`${prefix}_MAX_QUEUE_SIZE`, scalar(v, k));
      else if (k === 'max_export_batch_size') set(`${prefix}_MAX_EXPORT_BATCH_SIZE`, scalar(v, k));
      else if (k === 'exporter') exporter(v, `${key}.exporter`, signal, exporterVar);
      else unsupported(kn, `${key}.${k}`);
    }
  };

  const processors = (n: unknown, key: string, prefix: 'OTEL_BSP' | 'OTEL_BLRP', signal: Signal, exporterVar: string): void => {
    if (!isSeq(n)) throw new FileError(`${at(n as Node)}: ${key} must be a list`);
    n.items.forEach((item, i) => {
      const k = `${key}[${i}]`;
      if (i > 0) return unsupported(item as Node, `${k} (only one processor per signal)`);
      for (const [kind, body, kn] of entries(item, k)) {
        if (kind === 'batch') batch(body, `${k}.batch`, prefix, signal, exporterVar);
        else if (kind === 'simple') {
          for (const [ek, ev, en] of entries(body, `${k}.simple`)) {
            if (ek === 'exporter') exporter(ev, `${k}.simple.exporter`, signal, exporterVar);
            else unsupported(en, `${k}.simple.${ek}`);
          }
        } else unsupported(kn, `${k}.${kind}`);
      }
    });
  };

  const sampler = (n: unknown, key: string, parentBased: boolean): void => {
    const [[kind, body, kn] = ['', undefined, null]] = entries(n, key);
    const wrap = (s: string): string => (parentBased ? `parentbased_${s}` : s);
    if (kind === 'always_on') set('OTEL_TRACES_SAMPLER', wrap('always_on'));
    else if (kind === 'always_off') set('OTEL_TRACES_SAMPLER', wrap('always_off'));
    else if (kind === 'trace_id_ratio_based') {
      set('OTEL_TRACES_SAMPLER', wrap('traceidratio'));
      for (const [k, v, n2] of entries(body ?? new yaml.YAMLMap(), `${key}.trace_id_ratio_based`)) {
        if (k === 'ratio') set('OTEL_TRACES_SAMPLER_ARG', scalar(v, k));
        else unsupported(n2, `${key}.trace_id_ratio_based.${k}`);
      }
    } else if (kind === 'parent_based' && !parentBased) {
      set('OTEL_TRACES_SAMPLER', 'parentbased_always_on');
      for (const [k, v, n2] of entries(body, `${key}.parent_based`)) {
        if (k === 'root') sampler(v, `${key}.parent_based.root`, true);
        else unsupported(n2, `${key}.parent_based.${k}`);
      }
    } else unsupported(kn, `${key}.${kind}`);
  };

  const LIMITS: Record<string, Record<string, string>> = {
    attribute_limits: { attribute_value_length_limit: 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', attribute_count_limit: 'OTEL_ATTRIBUTE_COUNT_LIMIT' },
    'tracer_provider.limits': {
      attribute_value_length_limit: 'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT',
      attribute_count_limit: 'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT',
      event_count_limit: 'OTEL_SPAN_EVENT_COUNT_LIMIT',
      link_count_limit: 'OTEL_SPAN_LINK_COUNT_LIMIT',
      event_attribute_count_limit: 'OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT',
      link_attribute_count_limit: 'OTEL_LINK_ATTRIBUTE_COUNT_LIMIT',
    },
    'logger_provider.limits': { attribute_value_length_limit: 'OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT', attribute_count_limit: 'OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT' },
  };
  const limits = (n: unknown, key: string): void => {
    const table = LIMITS[key] ?? {};
    for (const [k, v, kn] of entries(n, key)) {
      const name = table[k];
      if (name) set(name, scalar(v, k));
      else unsupported(kn, `${key}.${k}`);
    }
  };

  try {
    const top = entries(root, 'the document');
    const format = top.find(([k]) => k === 'file_format');
    if (!format) throw new FileError(`${path}: file_format is missing (expected "1.0" or another 1.x)`);
    if (!/^1(\.\d+)?$/.test(scalar(format[1], 'file_format'))) throw new FileError(`${at(format[2])}: file_format "${scalar(format[1], 'file_format')}" is not 1.x`);
    for (const [k, v, kn] of top) {
      if (k === 'file_format') continue;
      if (k === 'disabled') set('OTEL_SDK_DISABLED', scalar(v, k));
      else if (k === 'log_level') set('OTEL_LOG_LEVEL', scalar(v, k));
      else if (k === 'attribute_limits') limits(v, k);
      else if (k === 'resource') {
        for (const [rk, rv, rn] of entries(v, k)) {
          if (rk === 'attributes') set('OTEL_RESOURCE_ATTRIBUTES', pairs(rv, 'resource.attributes'));
          else if (rk === 'attributes_list') set('OTEL_RESOURCE_ATTRIBUTES', scalar(rv, rk));
          else unsupported(rn, `resource.${rk}`);
        }
      } else if (k === 'propagator') {
        for (const [pk, pv, pn] of entries(v, k)) {
          if (pk === 'composite_list') set('OTEL_PROPAGATORS', scalar(pv, pk));
          else if (pk === 'composite') {
            if (!isSeq(pv)) throw new FileError(`${at(pv as Node)}: propagator.composite must be a list`);
            set('OTEL_PROPAGATORS', pv.items.map((item, i) => entries(item, `propagator.composite[${i}]`).map(([name]) => name).join(',')).join(','));
          } else unsupported(pn, `propagator.${pk}`);
        }
      } else if (k === 'tracer_provider') {
        for (const [tk, tv, tn] of entries(v, k)) {
          if (tk === 'processors') processors(tv, 'tracer_provider.processors', 'OTEL_BSP', 'TRACES', 'OTEL_TRACES_EXPORTER');
          else if (tk === 'limits') limits(tv, 'tracer_provider.limits');
          else if (tk === 'sampler') sampler(tv, 'tracer_provider.sampler', false);
          else unsupported(tn, `tracer_provider.${tk}`);
        }
      } else if (k === 'logger_provider') {
        for (const [lk, lv, ln] of entries(v, k)) {
          if (lk === 'processors') processors(lv, 'logger_provider.processors', 'OTEL_BLRP', 'LOGS', 'OTEL_LOGS_EXPORTER');
          else if (lk === 'limits') limits(lv, 'logger_provider.limits');
          else unsupported(ln, `logger_provider.${lk}`);
        }
      } else if (k === 'meter_provider') {
        for (const [mk, mv, mn] of entries(v, k)) {
          if (mk !== 'readers') {
            unsupported(mn, `meter_provider.${mk}`);
            continue;
          }
          if (!isSeq(mv)) throw new FileError(`${at(mv as Node)}: meter_provider.readers must be a list`);
          mv.items.forEach((item, i) => {
            const rk = `meter_provider.readers[${i}]`;
            if (i > 0) return unsupported(item as Node, `${rk} (only one reader)`);
            for (const [kind, body, kn2] of entries(item, rk)) {
              if (kind !== 'periodic' && kind !== 'pull') {
                unsupported(kn2, `${rk}.${kind}`);
                continue;
              }
              for (const [pk, pv, pn] of entries(body, `${rk}.${kind}`)) {
                if (pk === 'interval' && kind === 'periodic') set('OTEL_METRIC_EXPORT_INTERVAL', scalar(pv, pk));
                else if (pk === 'timeout' && kind === 'periodic') set('OTEL_METRIC_EXPORT_TIMEOUT', scalar(pv, pk));
                else if (pk === 'exporter') exporter(pv, `${rk}.${kind}.exporter`, 'METRICS', 'OTEL_METRICS_EXPORTER');
                else unsupported(pn, `${rk}.${kind}.${pk}`);
              }
            }
          });
        }
      } else unsupported(kn, k);
    }
  } catch (err) {
    if (err instanceof FileError) return { ok: false, error: err.message };
    throw err;
  }
  return { ok: true, values, warnings };
}
