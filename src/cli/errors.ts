/** An error the operator caused or can fix; printed without a stack trace, exit code 1. */
export class CliError extends Error {
  readonly code: string = 'ENDURE_CLI_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
  }
}
