import { type Command, CommanderError } from 'commander';

/**
 * Parses argv with a program set to exitOverride(): undefined to go on, or the exit code when
 * commander already printed help (0) or a usage error (2).
 */
export function parseOrExit(program: Command, argv: readonly string[]): number | undefined {
  try {
    program.parse([...argv], { from: 'user' });
    return undefined;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
}
