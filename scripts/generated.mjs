// Shared by the generators: write the file, or with --check exit 1 when the committed one is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

export function writeOrCheck(out, text, regenerate) {
  const name = relative(process.cwd(), out);
  if (process.argv.includes('--check')) {
    if (readFileSync(out, 'utf8') !== text) {
      console.error(`${name} is stale: run ${regenerate}`);
      process.exit(1);
    }
    console.log(`${name} is current`);
  } else {
    writeFileSync(out, text);
    console.log(`wrote ${name}`);
  }
}
