import type { Analysis } from './analyze';
import type { Row } from './match';

/** Missing instrumentations that have a release to install, grouped by workspace name. */
export function toInstall(a: Analysis): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of a.rows) {
    if (r.status !== 'missing' || r.spec === undefined) continue;
    const list = out.get(r.workspace) ?? [];
    if (!list.includes(r.spec)) list.push(r.spec);
    out.set(r.workspace, list);
  }
  return out;
}

/** Missing rows for which no release could be picked because the registry did not answer. */
export function unresolved(a: Analysis): Row[] {
  return a.rows.filter((r) => r.status === 'missing' && r.spec === undefined);
}

function statusText(r: Row): string {
  const what = r.status === 'missing' ? (r.spec ? `missing: install adds ${r.spec}` : 'missing') : r.status === 'active' ? `active (${r.source})` : r.status;
  const notes = r.notes && r.notes.length > 0 ? ` [${r.notes.join('; ')}]` : '';
  return r.reason ? `${what}: ${r.reason}${notes}` : `${what}${notes}`;
}

function table(lines: string[][]): string[] {
  const widths = (lines[0] ?? []).map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  return lines.map((l) => `  ${l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd());
}

/** The human-readable list: one table per workspace, plugins, then a one-line summary. */
export function listText(a: Analysis): string {
  const out: string[] = [];
  for (const ws of a.workspaces) {
    out.push(`${ws.name} (${ws.rel}): ${a.pm.name}${a.pm.berry ? ' (berry)' : ''}, versions from ${a.source}`);
    const rows = a.rows.filter((r) => r.workspace === ws.name);
    if (rows.length === 0) out.push('  no library with a known instrumentation is installed');
    else {
      const lines = [['library', 'version', 'instrumentation', 'status']];
      for (const r of rows) lines.push([`${r.library}${r.direct ? '' : ' (transitive)'}`, r.version, `${r.instrumentation}${r.instrumentationVersion ? ` ${r.instrumentationVersion}` : ''}`, statusText(r)]);
      out.push(...table(lines));
    }
    const plugins = a.plugins.filter((p) => p.workspace === ws.name);
    if (plugins.length > 0) out.push(`  plugins: ${plugins.map((p) => `${p.package}@${p.version} (${p.instrumentations.join(', ')})`).join(', ')}`);
  }
  const count = (s: string): number => a.rows.filter((r) => r.status === s).length;
  out.push(`${count('active')} active, ${count('disabled')} disabled, ${count('unsupported')} unsupported, ${count('missing')} to install, ${count('unavailable')} unavailable`);
  return `${out.join('\n')}\n`;
}

/** What --json prints for every action: the analysis, then the action's own fields. */
export function jsonReport(a: Analysis, action: string, extra: Record<string, unknown>): string {
  const body = {
    action,
    root: a.project.root,
    packageManager: { name: a.pm.name, berry: a.pm.berry, lockfile: a.pm.lockfile ?? null, detectedFrom: a.pm.source },
    versionsFrom: a.source,
    registry: a.registry,
    otel: a.ours,
    workspaces: a.workspaces.map((w) => ({ name: w.name, path: w.rel })),
    instrumentations: a.rows,
    plugins: a.plugins,
    requirements: [...new Set([...toInstall(a).values()].flat())],
    warnings: a.warnings,
    ...extra,
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}
