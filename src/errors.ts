/*
 * The errors the library throws (docs/api.md). A run's outcome -- clean, a violation, a hang --
 * is a verdict in its report, never an exception; an exception means the library could not run
 * what it was asked: bad input (UsageError, the CLI's exit 2) or a fault of forkstorm itself
 * (InternalError, exit 4). Each carries the exit code the command line gives it.
 */
export class ForkstormError extends Error {
  override name = "ForkstormError";
  constructor(
    message: string,
    /** The command line's exit code for this error. */
    readonly exitCode: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** An option, script or report forkstorm cannot run: the message is one line saying why. */
export class UsageError extends ForkstormError {
  override name = "UsageError";
  constructor(message: string) {
    super(message, 2);
  }
}

/** Something failed inside forkstorm (a crashed worker, a bug of ours): `cause` holds the original. */
export class InternalError extends ForkstormError {
  override name = "InternalError";
  constructor(cause: unknown) {
    super(`internal error: ${cause instanceof Error ? cause.message : String(cause)}`, 4, { cause });
  }
}
