import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../host/framework/fsutil.ts';
import { TaskTokenGoneError as TaskTokenError } from '../../shared/approvals/decide.ts';
import { isErrno } from '../../shared/errors.ts';
import type { ApprovalResultV1 } from '../../shared/messages/promotion.ts';
import type { TaskCallbacks } from '../../shared/ports.ts';
import { withFileMutex } from './file-mutex.ts';

interface TokenRecord {
  token: string;
  execution: string;
  state: string;
  status: 'WAITING' | 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: string;
  cause?: string;
  createdAt: string;
}

/** Step Functions' TaskDoesNotExist/TaskTimedOut: the token is unknown or already used. */
export { TaskTokenGoneError as TaskTokenError } from '../../shared/approvals/decide.ts';

/** A task failure as the state machine sees it: `name` is the error its Catch matches. */
export class TaskFailure extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

const TOKEN = /^local-[0-9a-f-]{36}$/;

/**
 * Task tokens of `.waitForTaskToken` tasks, kept under the root: the engine mints one per task
 * and waits for its outcome; SendTaskSuccess/SendTaskFailure from any process (`releng approve`
 * runs the promotion handler, which calls these) record it. This is the local TaskCallbacks port.
 */
export class LocalTaskTokens implements TaskCallbacks {
  private readonly dir: string;

  constructor(
    engineDir: string,
    private readonly pollMs = 100,
  ) {
    this.dir = join(engineDir, 'task-tokens');
  }

  private file(token: string): string {
    if (!TOKEN.test(token))
      throw new TaskTokenError(`task token ${JSON.stringify(token)} is not one of ours`);
    return join(this.dir, `${token}.json`);
  }

  async mint(execution: string, state: string): Promise<string> {
    const token = `local-${randomUUID()}`;
    const record: TokenRecord = {
      token,
      execution,
      state,
      status: 'WAITING',
      createdAt: new Date().toISOString(),
    };
    await writeFileAtomic(this.file(token), JSON.stringify(record));
    return token;
  }

  private async read(token: string): Promise<TokenRecord> {
    try {
      return JSON.parse(await readFile(this.file(token), 'utf8')) as TokenRecord;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        throw new TaskTokenError(`task token ${token} does not exist`);
      }
      throw err;
    }
  }

  private async complete(token: string, change: Partial<TokenRecord>): Promise<void> {
    const file = this.file(token);
    await withFileMutex(file, async () => {
      const record = await this.read(token);
      if (record.status !== 'WAITING') throw new TaskTokenError(`task token ${token} was already used`);
      await writeFileAtomic(file, JSON.stringify({ ...record, ...change }));
    });
  }

  async succeed(taskToken: string, output: ApprovalResultV1 | unknown): Promise<void> {
    await this.complete(taskToken, { status: 'SUCCEEDED', output });
  }

  async fail(taskToken: string, error: string, cause: string): Promise<void> {
    await this.complete(taskToken, { status: 'FAILED', error, cause });
  }

  /** SendTaskHeartbeat: the local engine keeps no heartbeat clock, but a used token is gone. */
  async heartbeat(taskToken: string): Promise<void> {
    const record = await this.read(taskToken);
    if (record.status !== 'WAITING') throw new TaskTokenError(`task token ${taskToken} was already used`);
  }

  /** Resolves with the SendTaskSuccess output; rejects with a TaskFailure for SendTaskFailure. */
  async wait(token: string, signal?: AbortSignal): Promise<unknown> {
    for (;;) {
      const record = await this.read(token);
      if (record.status === 'SUCCEEDED') return record.output;
      if (record.status === 'FAILED') {
        throw new TaskFailure(record.error ?? 'States.TaskFailed', record.cause ?? '');
      }
      if (signal?.aborted) throw new Error(`stopped waiting for task token ${token}`);
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }
}
