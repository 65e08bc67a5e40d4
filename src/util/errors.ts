/**
 * Errors that carry an exit code and, where known, the file or row they concern.
 * Commands let these propagate to cli.ts, which prints one line (stack only with -v).
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_PARTIAL = 3;

export class DsaError extends Error {
  /** Process exit code this error maps to (1 operational, 2 usage). */
  readonly exitCode: number;
  /** File, directory or registry row the problem concerns, if any. */
  readonly subject?: string;
  constructor(message: string, opts: { subject?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'DsaError';
    this.exitCode = opts.exitCode ?? EXIT_FAILURE;
    this.subject = opts.subject;
  }
  /** One-line form used by the CLI: "<subject>: <message>". */
  oneLine(): string {
    return this.subject ? `${this.subject}: ${this.message}` : this.message;
  }
}

/** A problem with an input file (corrupt, truncated, wrong shape...). Exit code 1. */
export class InputError extends DsaError {
  constructor(subject: string, message: string, cause?: unknown) {
    super(message, { subject, exitCode: EXIT_FAILURE, cause });
    this.name = 'InputError';
  }
}

/** A bad option value or argument. Exit code 2. */
export class UsageError extends DsaError {
  constructor(message: string) {
    super(message, { exitCode: EXIT_USAGE });
    this.name = 'UsageError';
  }
}
