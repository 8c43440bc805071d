import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { RelengError } from '../../shared/errors.ts';
import type { HostOperationName } from '../../shared/operations.ts';
import type { Clock } from '../../shared/ports.ts';
import { type ExecOptions, type ExecResult, execFile, showCommand } from './exec.ts';
import { FileLocks, lockDir } from './locks.ts';
import type { OperationOptions } from './options.ts';

/**
 * A failure the operator can act on: printed as one line, exit code 1. `details` join the
 * result (doctor's report, say), so a failed run still says everything it found.
 */
export class HostOperationError extends RelengError {
  override readonly name = 'HostOperationError';
  constructor(
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/**
 * What an operation gets: config, its validated options (typed from the catalogue), and the only
 * ways it may change things. Without K, it is any operation's context.
 */
export interface OperationContext<K extends HostOperationName = HostOperationName> {
  /** The operation that runs: minor-release runs sync-to-staging with its own context. */
  operation: HostOperationName;
  config: ReleaseConfig;
  root: string;
  dryRun: boolean;
  options: OperationOptions<K>;
  clock: Clock;
  locks: FileLocks;
  /** A line for the operator and the operation's log file. */
  log(message: string): void;
  /** Runs a command that changes things: logged, and in dry-run only added to the plan. */
  run(argv: string[], options?: ExecOptions): Promise<ExecResult | undefined>;
  /** Runs a command that only reads (gpg --verify, rpm -qp): runs in dry-run too. */
  read(argv: string[], options?: ExecOptions): Promise<ExecResult>;
  /** A step of the plan: in dry-run recorded and skipped, otherwise logged and run. */
  step<T>(description: string, fn: () => Promise<T>): Promise<T | undefined>;
  /** The steps and commands, in order: the plan in dry-run, what ran otherwise. */
  readonly plan: string[];
  /** Path of the log file, when not a dry run. */
  readonly logFile: string | undefined;
  /** The environment commands run with (main's deps.env); undefined: this process's. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface ContextInit<K extends HostOperationName> {
  operation: K;
  config: ReleaseConfig;
  root: string;
  dryRun: boolean;
  options: OperationOptions<K>;
  clock: Clock;
  /** Progress lines go here (stderr by default), so stdout stays the result. */
  progress?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export function createContext<K extends HostOperationName>(init: ContextInit<K>): OperationContext<K> {
  const plan: string[] = [];
  const progress = init.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  let logFile: string | undefined;
  if (!init.dryRun) {
    const dir = join(init.root, 'var', 'log', 'releng');
    mkdirSync(dir, { recursive: true });
    const stamp = init.clock.now().toISOString().replaceAll(/[:.]/g, '-');
    logFile = join(dir, `${init.operation}-${stamp}-${process.pid}.log`);
  }
  const log = (message: string) => {
    progress(`[${init.operation}] ${message}`);
    if (logFile) appendFileSync(logFile, `${init.clock.now().toISOString()} ${message}\n`);
  };
  const withEnv = (options: ExecOptions = {}): ExecOptions => ({ ...options, env: options.env ?? init.env });
  return {
    ...init,
    locks: new FileLocks(lockDir(init.config, init.root), init.clock),
    plan,
    logFile,
    log,
    async run(argv, options) {
      plan.push(`$ ${showCommand(argv)}`);
      if (init.dryRun) return undefined;
      log(`$ ${showCommand(argv)}`);
      return execFile(argv, withEnv(options));
    },
    read(argv, options) {
      if (!init.dryRun && logFile)
        appendFileSync(logFile, `${init.clock.now().toISOString()} (read) ${showCommand(argv)}\n`);
      return execFile(argv, withEnv(options));
    },
    async step(description, fn) {
      plan.push(description);
      if (init.dryRun) {
        progress(`[${init.operation}] would: ${description}`);
        return undefined;
      }
      log(description);
      return fn();
    },
  };
}
