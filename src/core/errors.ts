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
