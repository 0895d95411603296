import type { InstrumentationDescriptor } from '../catalog/types';

export interface ConfiguratorDescriptor {
  readonly name: string;
  /** Absolute path, checked to be inside its package. */
  readonly entry: string;
  readonly export: string;
  /** name@version of the declaring package. */
  readonly origin: string;
  readonly packageName: string;
}

export interface DistroDescriptor {
  readonly name: string;
  readonly packageName: string;
  readonly version: string;
  /** Raw defaults for our variables; parsed through the config table like the env. */
  readonly defaults: Readonly<Record<string, string>>;
}

/** What one package's "otel" field contributes, after validation. */
export interface Plugin {
  readonly packageName: string;
  readonly version: string;
  readonly dir: string;
  readonly instrumentations: readonly InstrumentationDescriptor[];
  readonly configurators: readonly ConfiguratorDescriptor[];
  readonly distro?: DistroDescriptor;
}

export interface Discovery {
  readonly root: string | undefined;
  readonly plugins: readonly Plugin[];
  /** One line per skipped piece, naming the package and its version. */
  readonly warnings: readonly string[];
}
