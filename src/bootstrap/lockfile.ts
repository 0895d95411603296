import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BootstrapError } from './errors';
import { npmLockTrees } from './lock-npm';
import { pnpmLockTrees } from './lock-pnpm';
import { yarnLockTrees } from './lock-yarn';
import type { Project } from './project';
import { isObject, type DependencyTree } from './tree';

/** Each workspace's dependency closure as the lockfile records it (for a project not installed yet). */
export function lockfileTrees(project: Project, lockfile: string): Map<string, DependencyTree> {
  const path = join(project.root, lockfile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new BootstrapError(`${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    if (lockfile === 'yarn.lock') return yarnLockTrees(text, project.workspaces);
    if (lockfile === 'pnpm-lock.yaml') {
      const yaml = require('yaml') as typeof import('yaml');
      const doc: unknown = yaml.parse(text);
      if (!isObject(doc)) throw new Error('it is not a YAML map');
      return pnpmLockTrees(doc, project.workspaces);
    }
    const doc: unknown = JSON.parse(text);
    if (!isObject(doc)) throw new Error('it is not a JSON object');
    return npmLockTrees(doc, project.workspaces);
  } catch (err) {
    if (err instanceof BootstrapError) throw err;
    throw new BootstrapError(`${path} cannot be read: ${(err as Error).message.split('\n')[0]}`);
  }
}
