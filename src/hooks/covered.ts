import type { InstrumentationDescriptor } from '../catalog/types';

/** Whether a module URL or path lies inside an installed package `pkg` (npm, pnpm and yarn layouts alike). */
export function insidePackage(url: string, pkg: string): boolean {
  return url.replace(/\\/g, '/').includes(`/node_modules/${pkg}/`);
}

/**
 * Why a resolve of `d`'s target from `parentURL` must not load `d`, or undefined when it must.
 * The request is covered when it comes from inside the package named by `d.coveredBy` and that
 * package's instrumentation is loaded: that instrumentation already records what `d` would
 * (router under Express 5, src/selection.ts). Resolves from anywhere else still load `d`.
 */
export function coveredReason(d: InstrumentationDescriptor, target: string, parentURL: string | undefined, isLoaded: (instrumentation: string) => boolean): string | undefined {
  const c = d.coveredBy;
  if (c === undefined || parentURL === undefined) return undefined;
  if (!insidePackage(parentURL, c.package) || !isLoaded(c.instrumentation)) return undefined;
  return `${c.package} loaded ${target}, whose work the ${c.instrumentation} instrumentation already records (${c.restore} restores both)`;
}

/**
 * require-in-the-middle 8.0.1 resolves the package name of a module it has just loaded a second
 * time, from its own file (index.js: `require.resolve(moduleName, { paths: [basedir] })`), after
 * the requiring module's own resolve: express's `require('router')` reaches the hook from
 * express/lib/application.js, then from require-in-the-middle/index.js. Such a repeat says
 * nothing about who asked, so it must not load an instrumentation whose loading depends on who
 * asked. import-in-the-middle is treated alike.
 */
export function fromModuleHook(parentURL: string | undefined): boolean {
  return parentURL !== undefined && (insidePackage(parentURL, 'require-in-the-middle') || insidePackage(parentURL, 'import-in-the-middle'));
}
