// The command line every bench shares: `--name value` options, --help, and --node 22|24|PATH
// (or BENCH_NODE) naming the Node the children run on.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODES = { 22: 'node_modules/node22/bin/node', 24: 'node_modules/node/bin/node' };

/** Prints `usage` and exits on --help; returns the option reader and the Node binary to run. */
export function benchArgs(usage) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    process.exit(0);
  }
  const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
  const nodeArg = opt('--node', process.env.BENCH_NODE ?? '24');
  return { args, opt, nodeArg, node: NODES[nodeArg] ? join(ROOT, NODES[nodeArg]) : nodeArg };
}
