export { start } from './api/start';
export type { Entry, Handle } from './start';
export type { InstrumentationReport, StartupReport } from './report/startup';
export type { ConfigOptions, OptionName, OptionVar, StartOptions } from './options';
export type { Env } from './config/parse';
/** For plugin authors: what a configurator's configure(ctx) receives (docs/plugins.md). */
export type { ConfiguratorContext } from './plugins/configurators';
