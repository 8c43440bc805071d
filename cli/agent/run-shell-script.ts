import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';

/** The agent's bounds on a step's timeoutSeconds; out of range or unreadable means the default. */
const DEFAULT_TIMEOUT_SECONDS = 3600;
const MIN_TIMEOUT_SECONDS = 5;
const MAX_TIMEOUT_SECONDS = 172_800;
/** What the agent reports for a process it killed on timeout or cancel (128 + SIGKILL). */
export const STOPPED_EXIT_CODE = 137;
/** How long to wait for output pipes after the shell exits (a background child may hold them). */
const PIPE_GRACE_MS = 2000;

/** The step's timeout as the agent reads it: a number or numeric string in [5, 172800], else 3600. */
export function executionTimeoutSeconds(value: unknown): number {
  const n =
    typeof value === 'number'
      ? Math.trunc(value)
      : typeof value === 'string'
        ? Number.parseInt(value, 10)
        : Number.NaN;
  return Number.isInteger(n) && n >= MIN_TIMEOUT_SECONDS && n <= MAX_TIMEOUT_SECONDS
    ? n
    : DEFAULT_TIMEOUT_SECONDS;
}

/** Keeps the first `limit` characters of a stream, as GetCommandInvocation reports it. */
export class HeadBuffer {
  private text = '';
  constructor(private readonly limit: number) {}
  append(chunk: string): void {
    if (this.text.length < this.limit) this.text += chunk.slice(0, this.limit - this.text.length);
  }
  get value(): string {
    return this.text;
  }
}

export interface ScriptRun {
  pid: number;
  /** Resolves when the shell has exited: its exit code, or how it was stopped. */
  done: Promise<{ exitCode: number; stopped?: 'timeout' | 'cancel' }>;
  /** Kills the whole process group (CancelCommand); no-op once done. */
  cancel(): void;
}

export interface ScriptOptions {
  /** The step's runCommand lines. */
  lines: string[];
  /** The step's own orchestration directory (local path): _script.sh, stdout and stderr go there. */
  stepDir: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutSeconds: number;
  onStdout(text: string): void;
  onStderr(text: string): void;
}

/**
 * `aws:runShellScript` as the agent runs it on EL8: the lines joined by "\n" into `_script.sh`
 * (mode 0700) run by `sh`, which there is bash in POSIX mode, as the leader of its own process
 * group; on timeout or cancel the whole group gets SIGKILL. The full output is kept in `stdout`
 * and `stderr` beside the script, as the agent keeps it in its orchestration directory.
 */
export async function runShellScript(options: ScriptOptions): Promise<ScriptRun> {
  await mkdir(options.stepDir, { recursive: true });
  const script = join(options.stepDir, '_script.sh');
  await writeFile(script, `${options.lines.join('\n')}\n`);
  await chmod(script, 0o700);
  const stdoutFile = createWriteStream(join(options.stepDir, 'stdout'));
  const stderrFile = createWriteStream(join(options.stepDir, 'stderr'));

  const child = spawn('bash', ['--posix', script], {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  let finished = false;
  child.stdout.on('data', (text: string) => {
    if (finished) return;
    stdoutFile.write(text);
    options.onStdout(text);
  });
  child.stderr.on('data', (text: string) => {
    if (finished) return;
    stderrFile.write(text);
    options.onStderr(text);
  });

  let stopped: 'timeout' | 'cancel' | undefined;
  const killGroup = (why: 'timeout' | 'cancel') => {
    if (finished || stopped || child.pid === undefined) return;
    stopped = why;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
  };
  const timer = setTimeout(() => killGroup('timeout'), options.timeoutSeconds * 1000);

  const done = new Promise<{ exitCode: number; stopped?: 'timeout' | 'cancel' }>((resolveDone) => {
    let exitCode: number | undefined;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      stdoutFile.end();
      stderrFile.end();
      const code = stopped ? STOPPED_EXIT_CODE : (exitCode ?? 1);
      resolveDone(stopped ? { exitCode: code, stopped } : { exitCode: code });
    };
    child.on('error', (err) => {
      options.onStderr(`failed to run commands: ${err.message}\n`);
      exitCode = 1;
      finish();
    });
    child.on('exit', (code, signal) => {
      exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
      setTimeout(finish, PIPE_GRACE_MS).unref();
    });
    child.on('close', () => finish());
  });
  return { pid: child.pid ?? -1, done, cancel: () => killGroup('cancel') };
}
