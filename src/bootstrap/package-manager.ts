import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Project, Workspace } from './project';

export type ManagerName = 'npm' | 'pnpm' | 'yarn';

export interface PackageManager {
  readonly name: ManagerName;
  /** Yarn 2 and later: different lockfile and flags. */
  readonly berry: boolean;
  /** The lockfile found at the project root, if any (file name). */
  readonly lockfile: string | undefined;
  /** How it was chosen, for the user: `"packageManager": "pnpm@9.1.0"`, `pnpm-lock.yaml`, `default`. */
  readonly source: string;
  /** A lockfile or field that disagrees with the choice. */
  readonly warning?: string;
}

const LOCKFILES: readonly [string, ManagerName][] = [
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
];

/**
 * The project's package manager: the "packageManager" field (what Corepack enforces) first,
 * then the lockfile at the root, then npm.
 */
export function detectPackageManager(project: Project): PackageManager {
  const locks = LOCKFILES.filter(([f]) => existsSync(join(project.root, f)));
  const field = typeof project.manifest.packageManager === 'string' ? project.manifest.packageManager : undefined;
  const m = field === undefined ? null : /^(npm|pnpm|yarn)@(\d+)/.exec(field);
  const berryText = (): boolean => {
    try {
      return /^__metadata:/m.test(readFileSync(join(project.root, 'yarn.lock'), 'utf8'));
    } catch {
      return false;
    }
  };
  if (m) {
    const name = m[1] as ManagerName;
    const lock = locks.find(([, n]) => n === name)?.[0];
    const others = locks.filter(([, n]) => n !== name).map(([f]) => f);
    const berry = name === 'yarn' && Number(m[2]) >= 2;
    return {
      name,
      berry,
      lockfile: lock,
      source: `"packageManager": "${field}"`,
      ...(others.length > 0 ? { warning: `package.json says "packageManager": "${field}", but ${others.join(' and ')} ${others.length > 1 ? 'are' : 'is'} also present; using ${name}` } : {}),
    };
  }
  const first = locks[0];
  if (first === undefined) return { name: 'npm', berry: false, lockfile: undefined, source: 'default (no lockfile and no "packageManager" field)' };
  const [lockfile, name] = first;
  const others = locks.slice(1).filter(([, n]) => n !== name).map(([f]) => f);
  return {
    name,
    berry: name === 'yarn' && berryText(),
    lockfile,
    source: lockfile,
    ...(others.length > 0 ? { warning: `several lockfiles: ${[lockfile, ...others].join(', ')}; using ${name} (set "packageManager" in package.json to choose)` } : {}),
  };
}

/**
 * The exact command that adds `specs` (name@version, pinned) to `ws` as dependencies. Each
 * package manager writes package.json and its lockfile itself; we never edit them.
 */
export function installCommand(pm: PackageManager, project: Project, ws: Workspace, specs: readonly string[]): { command: ManagerName; args: string[] } {
  const isRoot = ws.rel === '.';
  const monorepo = project.workspaces.length > 1;
  switch (pm.name) {
    case 'npm':
      return { command: 'npm', args: ['install', '--save-exact', ...(isRoot ? [] : ['--workspace', ws.name]), ...specs] };
    case 'pnpm':
      // pnpm refuses to add to a workspace root unless told that is meant.
      return { command: 'pnpm', args: ['add', '--save-exact', ...(isRoot ? (monorepo ? ['--workspace-root'] : []) : ['--filter', ws.name]), ...specs] };
    case 'yarn':
      if (!isRoot) return { command: 'yarn', args: ['workspace', ws.name, 'add', '--exact', ...specs] };
      // Yarn classic likewise, with --ignore-workspace-root-check.
      return { command: 'yarn', args: ['add', '--exact', ...(monorepo && !pm.berry ? ['--ignore-workspace-root-check'] : []), ...specs] };
  }
}
