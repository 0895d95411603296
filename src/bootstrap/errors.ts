/** A failure the user can act on: one line, printed as is, and the exit code to leave with. */
export class BootstrapError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
