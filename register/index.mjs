// node --import otel-autoinstrument/register app.mjs
// The module hooks are synchronous and in-thread, so they are in place before the app's first import.
import { createRequire } from 'node:module';

createRequire(import.meta.url)('./load.cjs')('import');
