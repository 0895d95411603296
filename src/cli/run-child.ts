import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const RELAYED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Runs `command` with inherited stdio and resolves with the exit code a shell would report:
 * the child's code, 128 + signal number if a signal ended it, 127 if the command does not
 * exist, 126 if it cannot be executed.
 */
export function runChild(command: string, args: readonly string[], env: NodeJS.ProcessEnv, say: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    const relays = RELAYED.map((sig) => {
      const relay = (): void => {
        // A terminal's Ctrl-C already reached the child (same process group); sending it again
        // would count as a second Ctrl-C in apps that force-quit on the second one.
        if (sig === 'SIGINT' && process.stdin.isTTY) return;
        child.kill(sig);
      };
      process.on(sig, relay);
      return [sig, relay] as const;
    });
    const done = (code: number): void => {
      for (const [sig, relay] of relays) process.removeListener(sig, relay);
      resolve(code);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        say(`${command}: command not found`);
        done(127);
      } else if (err.code === 'EACCES') {
        say(`${command}: permission denied`);
        done(126);
      } else {
        say(`${command}: ${err.message}`);
        done(126);
      }
    });
    child.on('exit', (code, signal) => {
      if (signal !== null) done(128 + (constants.signals[signal] ?? 0));
      else done(code ?? 0);
    });
  });
}
