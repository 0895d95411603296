export { start } from './start';
export type { Handle, StartOptions } from './start';
