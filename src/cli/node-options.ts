/**
 * NODE_OPTIONS as Node reads it: space-separated, double quotes group, and inside quotes a
 * backslash escapes the next character (src/node_options.cc, ParseNodeOptionsEnvVar).
 */
export function splitNodeOptions(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuotes = false;
  let has = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (inQuotes && c === '\\' && i + 1 < value.length) {
      cur += value[++i];
    } else if (c === '"') {
      inQuotes = !inQuotes;
      has = true;
    } else if (!inQuotes && /\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** Quotes one argument for NODE_OPTIONS when it needs it. */
export function quoteNodeOption(arg: string): string {
  return /[\s"\\]/.test(arg) ? `"${arg.replace(/(["\\])/g, '\\$1')}"` : arg;
}

const HOOK_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/**
 * Each option of `args` with the value it may take: `--flag=value`, or the next argument
 * (which may not be its value: callers look only at flags that take one).
 */
export function optionValues(args: readonly string[]): [flag: string, value: string | undefined][] {
  return args.map((tok, i) => {
    const eq = tok.indexOf('=');
    return eq > 0 ? [tok.slice(0, eq), tok.slice(eq + 1)] : [tok, args[i + 1]];
  });
}

/** True if NODE_OPTIONS already loads one of `registers` (by package specifier or path). */
export function hasHook(nodeOptions: string, registers: readonly string[]): boolean {
  return optionValues(splitNodeOptions(nodeOptions)).some(
    ([flag, value]) => HOOK_FLAGS.has(flag) && value !== undefined && registers.some((r) => value === r || value.replace(/^file:\/\//, '') === r),
  );
}

/**
 * The child's NODE_OPTIONS: what the user had, untouched, plus our hook once. Appended, so a
 * hook the user listed first (a TypeScript loader, say) still runs first.
 */
export function withHook(nodeOptions: string | undefined, flag: '--import' | '--require', register: string, alsoKnownAs: readonly string[]): string {
  const existing = nodeOptions ?? '';
  if (hasHook(existing, [register, ...alsoKnownAs])) return existing;
  const hook = `${flag} ${quoteNodeOption(register)}`;
  return existing.trim() === '' ? hook : `${existing} ${hook}`;
}
