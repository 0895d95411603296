// Every bench run leaves its numbers in bench/results/<date>-<node>.json, one section per bench
// (startup, steady, hot-paths), merged into the day's file for that Node version.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Writes `data` as `section` of today's file for `nodeVersion` (e.g. "v24.21.0"); returns its path. */
export function saveResults(section, nodeVersion, data) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().slice(0, 10)}-node${nodeVersion.replace(/^v/, '')}.json`);
  let all = {};
  try {
    if (existsSync(file)) all = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    all = {};
  }
  all[section] = { at: new Date().toISOString(), ...data };
  writeFileSync(file, `${JSON.stringify(all, null, 1)}\n`);
  return relative(process.cwd(), file);
}
