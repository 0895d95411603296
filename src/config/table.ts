import { booleanVar, enumVar, keyValueVar, listVar, numberVar, stringVar, urlVar } from './kinds';
import type { VarSpec } from './types';

const EXPORTERS = ['otlp', 'console', 'none'] as const;
/** Package managers, their helpers and our own CLI: they inherit NODE_OPTIONS but are not the app. */
const TOOLING_PROCESSES = ['npm', 'npx', 'npm-cli', 'npx-cli', 'pnpm', 'pnpx', 'yarn', 'yarnpkg', 'corepack', 'node-gyp', 'otel-instrument'];

/**
 * Every environment variable otel-autoinstrument reads. Parser, docs/configuration.md
 * (scripts/gen-config-docs.mjs) and the redacted dump all come from this table; nothing
 * else in src/ reads process.env.
 */
export const TABLE = {
  OTEL_SDK_DISABLED: booleanVar({ group: 'general', default: false, description: 'Disable the SDK entirely: nothing is patched, nothing is exported.' }),
  OTEL_LOG_LEVEL: enumVar({
    group: 'general',
    allowed: ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'],
    default: 'info',
    description: "Level of otel-autoinstrument's and the SDK's own diagnostics on stderr.",
  }),
  OTEL_SERVICE_NAME: stringVar({ group: 'resource', description: 'Sets service.name; wins over service.name in OTEL_RESOURCE_ATTRIBUTES.' }),
  OTEL_RESOURCE_ATTRIBUTES: keyValueVar({ group: 'resource', description: 'Resource attributes, key=value pairs separated by commas, values percent-encoded.' }),
  OTEL_NODE_RESOURCE_DETECTORS: listVar({
    group: 'resource',
    standard: false,
    allowed: ['all', 'none', 'env', 'host', 'os', 'process', 'serviceinstance'],
    default: ['all'],
    description:
      'Local resource detectors to run ("all" = env, host, os, process, serviceinstance). Cloud detectors (aws, gcp, azure, alibaba) are never run: they probe metadata addresses off the machine.',
  }),
  OTEL_TRACES_EXPORTER: listVar({ group: 'exporters', allowed: EXPORTERS, default: ['otlp'], description: 'Span exporters; "none" turns tracing export off.' }),
  OTEL_METRICS_EXPORTER: listVar({ group: 'exporters', allowed: EXPORTERS, default: ['otlp'], description: 'Metric exporters; "none" turns metrics off.' }),
  OTEL_LOGS_EXPORTER: listVar({ group: 'exporters', allowed: EXPORTERS, default: ['otlp'], description: 'Log record exporters; "none" turns logs off.' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: urlVar({
    group: 'otlp',
    description: 'Base URL of the OTLP receiver: http://localhost:4318 for http/*, http://localhost:4317 for grpc. Signal paths (/v1/traces, ...) are appended for http/*.',
  }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: urlVar({ group: 'otlp', description: 'Full URL for spans; used as is (no path appended). Wins over OTEL_EXPORTER_OTLP_ENDPOINT.' }),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: urlVar({ group: 'otlp', description: 'Full URL for metrics; used as is. Wins over OTEL_EXPORTER_OTLP_ENDPOINT.' }),
  OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: urlVar({ group: 'otlp', description: 'Full URL for logs; used as is. Wins over OTEL_EXPORTER_OTLP_ENDPOINT.' }),
  OTEL_EXPORTER_OTLP_PROTOCOL: enumVar({
    group: 'otlp',
    allowed: ['http/protobuf', 'http/json', 'grpc'],
    default: 'http/protobuf',
    description: 'OTLP transport. The exporter package for the chosen protocol is loaded only when first used.',
  }),
  OTEL_EXPORTER_OTLP_HEADERS: keyValueVar({ group: 'otlp', sensitive: true, description: 'Headers sent with every OTLP export, key=value pairs, values percent-encoded.' }),
  OTEL_TRACES_SAMPLER: enumVar({
    group: 'sampling',
    allowed: ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'],
    default: 'parentbased_always_on',
    description: 'Sampler for new traces.',
  }),
  OTEL_TRACES_SAMPLER_ARG: numberVar({ group: 'sampling', min: 0, max: 1, description: 'Ratio for traceidratio samplers (default 1.0).' }),
  OTEL_PROPAGATORS: listVar({
    group: 'propagation',
    allowed: ['tracecontext', 'baggage', 'b3', 'b3multi', 'none'],
    default: ['tracecontext', 'baggage'],
    description: 'Context propagators, applied in order.',
  }),
  // Names are checked after plugin discovery, against the catalog and the plugins' names.
  OTEL_NODE_ENABLED_INSTRUMENTATIONS: listVar({
    group: 'instrumentations',
    standard: false,
    default: [],
    description: 'Only these instrumentations (short names, e.g. http,express,pg, plugins\' names too); unset = every one that is on by default.',
  }),
  OTEL_NODE_DISABLED_INSTRUMENTATIONS: listVar({
    group: 'instrumentations',
    standard: false,
    default: [],
    description: 'Instrumentations to turn off (short names); wins over OTEL_NODE_ENABLED_INSTRUMENTATIONS.',
  }),
  OTEL_NODE_DISABLED_PLUGINS: listVar({
    group: 'instrumentations',
    standard: false,
    lowercase: false,
    default: [],
    description: 'Packages whose "otel" field is ignored (see docs/plugins.md); "all" turns plugin discovery off.',
  }),
  OTEL_NODE_DISTRO: stringVar({
    group: 'instrumentations',
    standard: false,
    description: 'The distro to use when several installed packages declare one; "none" uses none.',
  }),
  OTEL_NODE_EXCLUDE_PROCESSES: listVar({
    group: 'general',
    standard: false,
    lowercase: false,
    default: TOOLING_PROCESSES,
    description:
      'Node processes that start no SDK, by script name (file name without extension, or the package it runs from). Package managers and build tools inherit NODE_OPTIONS, so they are excluded by default.',
  }),
  OTEL_NODE_INCLUDE_PROCESSES: listVar({
    group: 'general',
    standard: false,
    lowercase: false,
    default: [],
    description: 'When set, only Node processes with these script names start an SDK (wins over OTEL_NODE_EXCLUDE_PROCESSES).',
  }),
  AWS_LAMBDA_FUNCTION_NAME: stringVar({
    group: 'platform',
    standard: false,
    description: 'Set by AWS Lambda itself; when present the aws-lambda instrumentation is loaded at startup (it patches the handler, not a module the app requires).',
  }),
} as const satisfies Record<string, VarSpec<unknown>>;

export type Table = typeof TABLE;
export type VarName = keyof Table;
type ValueOf<S> = S extends VarSpec<infer T> ? T : never;
/** The parsed configuration: one field per variable, typed by its spec. */
export type Values = { readonly [K in VarName]: ValueOf<Table[K]> };
export const VAR_NAMES = Object.keys(TABLE) as VarName[];
