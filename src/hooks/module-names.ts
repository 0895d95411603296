import { builtinModules } from 'node:module';

const BUILTINS = new Set(builtinModules);

/**
 * The names a resolve request can match in the catalog: the specifier itself without `node:`
 * ("fs/promises", "@aws-sdk/middleware-stack") and the package it belongs to ("pg" for
 * "pg/lib/client.js"). Relative, absolute and URL specifiers name no package.
 */
export function candidateNames(specifier: string): string[] {
  let s = specifier;
  if (s.startsWith('node:')) s = s.slice(5);
  const c = s.charCodeAt(0);
  // . / \ and Windows drive letters or URLs ("file:", "data:")
  if (c === 46 || c === 47 || c === 92 || s.includes(':')) return [];
  const parts = s.split('/');
  const pkg = s.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? s);
  return pkg === s ? [s] : [s, pkg];
}

export function isBuiltin(name: string): boolean {
  return BUILTINS.has(name);
}
