/**
 * A mistake in what the user asked for (bad flag, impossible setting, missing file). The CLI
 * prints its message as one line and exits with code 2; anything else is a bug and keeps its
 * stack trace.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The run finished but its result cannot be used (most steps aborted, parameters not finite). Its
 * outputs are written; the CLI prints the message as one line and exits with code 3, so a script
 * never mistakes it for a trained model.
 */
export class RunFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunFailed';
  }
}
