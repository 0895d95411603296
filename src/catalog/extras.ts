import type { TargetModule } from './types';

/**
 * Instrumentations we do not bundle (auto-instrumentations-node does not depend on them) but
 * load like a catalog entry once the app has them installed: `otel-bootstrap` installs them,
 * plugin discovery finds them among the app's dependencies. Curated by hand: each entry was
 * read from the package's published code (target module, supported range, export).
 * @fastify/otel, once here, is now bundled (scripts/gen-catalog.mjs BUNDLED); docs/plugins.md
 * says why these stay out.
 */
export interface ExtraInstrumentation {
  /** Short name, in the namespace of OTEL_NODE_ENABLED_INSTRUMENTATIONS. */
  readonly name: string;
  readonly package: string;
  /** Named export holding the instrumentation class. */
  readonly export: string;
  /** Target modules and the versions the instrumentation supports. */
  readonly modules: readonly TargetModule[];
  /** Constructor config under the user's OTEL_NODE_INSTRUMENTATION_* options. */
  readonly config?: Readonly<Record<string, unknown>>;
  /**
   * The instrumentation's major must equal the installed target's major (Prisma releases
   * @prisma/instrumentation in lockstep with @prisma/client).
   */
  readonly sameMajorAs?: string;
}

export const EXTRAS: readonly ExtraInstrumentation[] = [
  {
    name: 'prisma',
    package: '@prisma/instrumentation',
    export: 'PrismaInstrumentation',
    // init() targets '@prisma/client' at its own version; the client reads the global it sets.
    modules: [{ name: '@prisma/client', versions: ['>=5.0.0'] }],
    sameMajorAs: '@prisma/client',
  },
  {
    name: 'typeorm',
    package: '@opentelemetry/instrumentation-typeorm',
    export: 'TypeormInstrumentation',
    modules: [{ name: 'typeorm', versions: ['>=0.3.0 <2'] }],
  },
  {
    name: 'sequelize',
    package: '@opentelemetry/instrumentation-sequelize',
    export: 'SequelizeInstrumentation',
    modules: [{ name: 'sequelize', versions: ['>=6 <7'] }],
  },
];

export const EXTRAS_BY_PACKAGE: ReadonlyMap<string, ExtraInstrumentation> = new Map(EXTRAS.map((e) => [e.package, e]));
