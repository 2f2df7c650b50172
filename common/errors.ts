/**
 * One family of errors for the whole project. Each subclass carries a stable
 * `code` (KPLANE_…) that logs, metrics and tests can match on without parsing
 * messages; `cause` chains the underlying error.
 */
export class KplaneError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A command-line flag or option value that cannot be used. */
export class UsageError extends KplaneError {
  constructor(message: string) {
    super('KPLANE_USAGE', message);
  }
}
