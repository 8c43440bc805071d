import { EXIT } from './exit-codes.ts';

/** A hint that names the command (`releng demo --help …`) gets it from the entry point, which knows it. */
export type Hint = string | ((command: string) => string);

export interface RelengErrorOptions {
  /** The step that failed (a host operation, a releng command); the entry point fills it in if unset. */
  step?: string;
  /** What the operator can do next, printed in parentheses after the message. */
  hint?: Hint;
  /** EXIT.USAGE when the command line or an input was wrong and nothing started; EXIT.FAILED otherwise. */
  exitCode?: typeof EXIT.FAILED | typeof EXIT.USAGE;
  cause?: unknown;
}

/**
 * An error an operator can act on: the entry points print it as `TOOL STEP: message (hint)`
 * without a stack trace and exit with its code. Anything else is a bug and prints its stack.
 */
export class RelengError extends Error {
  override readonly name: string = 'RelengError';
  step?: string;
  hint?: Hint;
  readonly exitCode: typeof EXIT.FAILED | typeof EXIT.USAGE;

  constructor(message: string, options: RelengErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.step !== undefined) this.step = options.step;
    if (options.hint !== undefined) this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT.FAILED;
  }

  /** `releng-host sync-to-prod: --major "x" is not a valid major`: the step once, even if the message starts with it. */
  describe(tool: string): string {
    const step = this.step;
    const command = step ? `${tool} ${step}` : tool;
    const message =
      step && this.message.startsWith(`${step}: `) ? this.message.slice(step.length + 2) : this.message;
    const hint = typeof this.hint === 'function' ? this.hint(command) : this.hint;
    return `${command}: ${message}${hint ? ` (${hint})` : ''}`;
  }
}

/** A string property of anything thrown (Errors from another realm or SDK included), or undefined. */
function field(err: unknown, key: 'message' | 'name' | 'code'): string | undefined {
  const value = typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** For a mistake in the options: `releng-host sync-to-prod --help lists its options`. */
export const HELP_HINT: Hint = (command) => `${command} --help lists its options`;

/** The message of anything thrown: an Error's own, otherwise its text. */
export function errorMessage(err: unknown): string {
  return field(err, 'message') ?? String(err);
}

/** The name of anything thrown (AWS SDK errors are told apart by it), or '' if it has none. */
export function errorName(err: unknown): string {
  return field(err, 'name') ?? '';
}

/** The errno code (`ENOENT`, `EEXIST`) of a failed system call, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  return field(err, 'code');
}

/** Whether a system call failed with this errno code: `if (isErrno(err, 'ENOENT')) return undefined`. */
export function isErrno(err: unknown, code: string): err is NodeJS.ErrnoException {
  return errnoCode(err) === code;
}
