// Generates src/catalog/catalog.generated.ts from the installed
// @opentelemetry/auto-instrumentations-node and its instrumentation packages.
//   node scripts/gen-catalog.mjs           write the file
//   node scripts/gen-catalog.mjs --check   exit 1 if the committed file is stale
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { writeOrCheck } from './generated.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(root, 'src/catalog/catalog.generated.ts');
const require = createRequire(join(root, 'package.json'));
const AUTO = '@opentelemetry/auto-instrumentations-node';
const PREFIX = '@opentelemetry/instrumentation-';

// Facts the packages do not declare in their module definitions.
const OVERRIDES = {
  // Ours, turned into ignoreIncomingRequestHook by src/config/instrumentation-options.ts.
  http: { extraOptions: [{ name: 'ignoreIncomingPaths', type: 'list' }] },
  // Patches through diagnostics_channel: global fetch has no module to resolve.
  undici: { modules: [{ name: 'undici', versions: ['>=5.12.0'] }], globals: ['fetch'] },
  // Metrics from the runtime itself; nothing to wait for.
  'runtime-node': { activation: 'startup', metricsOnly: true },
  'host-metrics': { activation: 'startup', metricsOnly: true },
  // Its targets are computed from Lambda's _HANDLER; useless elsewhere.
  'aws-lambda': { activation: 'lambda' },
  // redis >= 4 is a wrapper of @redis/client, which the same instrumentation patches (the
  // conformance suite's redis 6 row): its 'redis' definition covers only the legacy client, and
  // without this the bootstrap and the doctor called redis 4-6 unsupported.
  redis: { extraVersions: { redis: ['>=4 <7'] } },
};

// Maintained instrumentations upstream's bundle lacks, which we ship as dependencies and load
// like the rest (docs/plugins.md, "Bundled beyond upstream", says which and why). Their module
// definitions say nothing (@fastify/otel patches nothing: init() returns []), so the targets are
// read from the package's source and written here.
const BUNDLED = [
  {
    name: 'fastify',
    package: '@fastify/otel',
    export: 'FastifyOtelInstrumentation',
    // index.js SUPPORTED_VERSIONS. registerOnInitialization subscribes to fastify's
    // 'fastify.initialization' diagnostics channel and adds the plugin to every instance.
    modules: [{ name: 'fastify', versions: ['>=4.0.0 <6'] }],
    config: { registerOnInitialization: true },
    channel: 'fastify.initialization',
    // types/index.d.ts FastifyOtelInstrumentationOpts; ignorePaths is a glob or a function.
    options: [{ name: 'ignorePaths', type: 'string' }],
  },
];

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function packageDir(name) {
  // Some packages do not export ./package.json; find it from the main entry.
  let dir = dirname(require.resolve(name));
  while (!dir.endsWith(join('node_modules', ...name.split('/')))) dir = dirname(dir);
  return dir;
}

/**
 * The scalar and list options of each instrumentation's config type, read from its published
 * .d.cts with the TypeScript checker: booleans, numbers, strings and arrays of strings (or of
 * string | RegExp). Functions, objects and `enabled` are left out.
 */
function configOptions(entries, autoRequire) {
  const files = entries.map((e) => autoRequire.resolve(e.package).replace(/\.cjs$/, '.d.cts'));
  const program = ts.createProgram(files, { strict: true, skipLibCheck: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext });
  const checker = program.getTypeChecker();
  const kind = (t) => {
    if (t.flags & ts.TypeFlags.BooleanLike || (t.isUnion() && t.types.every((x) => x.flags & ts.TypeFlags.BooleanLiteral))) return 'boolean';
    if (t.flags & ts.TypeFlags.NumberLike) return 'number';
    if (t.flags & ts.TypeFlags.StringLike) return 'string';
    if (checker.isArrayType(t)) {
      const el = checker.getTypeArguments(t)[0];
      return (el.isUnion() ? el.types.map(kind) : [kind(el)]).includes('string') ? 'list' : undefined;
    }
    if (t.isUnion()) {
      const ks = [...new Set(t.types.filter((x) => !(x.flags & ts.TypeFlags.Undefined)).map(kind))];
      return ks.length === 1 ? ks[0] : undefined;
    }
    return undefined;
  };
  return entries.map((e, i) => {
    const sf = program.getSourceFile(files[i]);
    const exp = sf && checker.getExportsOfModule(checker.getSymbolAtLocation(sf)).find((x) => x.name === e.export);
    const param = exp && checker.getTypeOfSymbolAtLocation(exp, sf).getConstructSignatures()[0]?.getParameters()[0];
    if (!param) return [];
    const out = [];
    // Plain nested objects (http's headersToSpanAttributes.server.requestHeaders) become dotted names.
    const walk = (type, prefix, depth) => {
      for (const p of type.getProperties()) {
        const t = checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(p, sf));
        const k = kind(t);
        if (k !== undefined) out.push({ name: `${prefix}${p.name}`, type: k });
        else if (depth < 2 && t.getCallSignatures().length === 0 && (t.flags & ts.TypeFlags.Object) !== 0 && !checker.isArrayType(t) && t.getProperties().length > 0) walk(t, `${prefix}${p.name}.`, depth + 1);
      }
    };
    walk(checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(param, sf)), '', 0);
    return [...out.filter((o) => o.name !== 'enabled'), ...(OVERRIDES[e.name]?.extraOptions ?? [])];
  });
}

export function generate() {
  const autoPkg = readJson(join(packageDir(AUTO), 'package.json'));
  const autoRequire = createRequire(join(packageDir(AUTO), 'package.json'));
  // The default set is whatever upstream's own factory enables with no env and no config.
  const savedEnv = { ...process.env };
  for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
  const defaults = new Set(autoRequire(AUTO).getNodeAutoInstrumentations().map((i) => i.instrumentationName));
  Object.assign(process.env, savedEnv);

  const entries = [];
  for (const pkg of Object.keys(autoPkg.dependencies).filter((d) => d.startsWith(PREFIX)).sort()) {
    const mod = autoRequire(pkg);
    const name = pkg.slice(PREFIX.length);
    const exported = Object.entries(mod).find(
      ([k, v]) => typeof v === 'function' && k.endsWith('Instrumentation') && typeof v.prototype?.getModuleDefinitions === 'function',
    );
    if (!exported) throw new Error(`${pkg}: no exported Instrumentation class`);
    const [exportName, Ctor] = exported;
    const inst = new Ctor({ enabled: false });
    const modules = inst.getModuleDefinitions().map((d) => ({ name: d.name, versions: [...d.supportedVersions] }));
    const merged = new Map();
    for (const m of modules) merged.set(m.name, [...new Set([...(merged.get(m.name) ?? []), ...m.versions])]);
    const o = OVERRIDES[name] ?? {};
    for (const [m, versions] of Object.entries(o.extraVersions ?? {})) merged.set(m, [...(merged.get(m) ?? []), ...versions]);
    entries.push({
      name,
      package: pkg,
      version: readJson(join(packageDir(pkg), 'package.json')).version,
      export: exportName,
      modules: o.modules ?? [...merged].map(([n, versions]) => ({ name: n, versions })),
      globals: o.globals ?? [],
      activation: o.activation ?? 'module',
      enabledByDefault: defaults.has(pkg),
      metricsOnly: o.metricsOnly ?? false,
    });
  }
  const options = configOptions(entries, autoRequire);
  entries.forEach((e, i) => (e.options = options[i]));
  for (const b of BUNDLED) {
    const mod = require(b.package);
    if (typeof mod[b.export] !== 'function') throw new Error(`${b.package}: no export ${b.export}`);
    const { config, options: opts, ...rest } = b;
    entries.push({ ...rest, version: readJson(join(packageDir(b.package), 'package.json')).version, globals: [], activation: 'module', enabledByDefault: true, metricsOnly: false, options: opts, ownDependency: true, config });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header = [
    '// DO NOT EDIT. Generated by scripts/gen-catalog.mjs (npm run gen:catalog) from',
    `// ${AUTO}@${autoPkg.version} and its instrumentation packages, and the bundled extras`,
    `// ${BUNDLED.map((b) => b.package).join(', ')}.`,
    '// A test fails when this file no longer matches the installed packages.',
    "import type { InstrumentationDescriptor } from './types';",
    '',
    '/** Installed version of each instrumentation package when this file was generated. */',
    `export const CATALOG_SOURCE = ${JSON.stringify({ package: AUTO, version: autoPkg.version })} as const;`,
    '',
  ];
  const body = entries.map(({ version, ...e }) => `  ${JSON.stringify({ ...e, packageVersion: version })},`);
  return [
    ...header,
    'export const CATALOG: readonly (InstrumentationDescriptor & { readonly packageVersion: string })[] = [',
    ...body,
    '];',
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeOrCheck(OUT, generate(), 'npm run gen:catalog');
  // Instrumentations constructed above hold hooks; do not wait on them.
  process.exit(process.exitCode ?? 0);
}
