export { start } from './start';
export type { Handle, StartOptions } from './start';
/** For plugin authors: what a configurator's configure(ctx) receives (docs/plugins.md). */
export type { ConfiguratorContext } from './plugins/configurators';
