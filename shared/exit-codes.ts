/**
 * The exit codes of `releng` and `releng-host`, one table for every command (README, "Exit codes").
 * Scripts branch on these, so a code never changes meaning. Here in shared/ because the errors an
 * operator can act on (shared/errors.ts) carry theirs.
 */
export const EXIT = {
  /** The command did what it was asked. */
  OK: 0,
  /** It failed: an execution or host operation failed, a check found problems, a message was rejected. */
  FAILED: 1,
  /** The command line or an input was wrong (unknown option, missing argument, bad value); nothing started. */
  USAGE: 2,
  /** Nothing was published: the promotion was rejected, timed out, or nothing was approved. */
  NOT_PUBLISHED: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
