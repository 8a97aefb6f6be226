/**
 * The shape of every error a user is meant to read: a code to branch on, a message naming what
 * failed, and one sentence on how to fix it. `runMain` prints these without a stack trace.
 */
export class FixableError<Code extends string> extends Error {
  readonly userFacing = true;

  constructor(
    readonly code: Code,
    message: string,
    /** One sentence on how to fix it, shown after the message. */
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(hint ? `${message}\n  fix: ${hint}` : message, options);
  }
}

/** An error whose message is complete advice for the user; printed without a stack trace. */
export class UserError extends Error {
  readonly userFacing = true;
  override readonly name = 'UserError';
}

/** Errors we expect users to meet print as one clear message, without a stack trace. */
export function isUserFacingError(error: unknown): error is Error {
  return error instanceof Error && 'userFacing' in error && error.userFacing === true;
}
