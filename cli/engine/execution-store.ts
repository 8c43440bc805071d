import { appendFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../host/framework/fsutil.ts';
import { isErrno } from '../../shared/errors.ts';
import { REGEX } from '../../shared/patterns.ts';
import type { StateMachineName } from '../../shared/ports.ts';
import { alive, withFileMutex } from './file-mutex.ts';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One execution as `releng status` shows it; same words as Step Functions' DescribeExecution. */
export interface ExecutionRecord {
  name: string;
  stateMachine: StateMachineName;
  status: ExecutionStatus;
  input: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
  /** The state where it failed. */
  failedState?: string;
  startDate: string;
  stopDate?: string;
  /** The states entered and not yet exited: what it is doing now. */
  currentStates: string[];
  /** The engine process running it: a RUNNING record whose process is gone was abandoned. */
  pid: number;
  /** The execution this one re-runs, if any. */
  rerunOf?: string;
}

/** One entry of `releng history`: an aws-local-stepfunctions event, flattened, with its time. */
export interface ExecutionEvent {
  timestamp: string;
  type: string;
  state?: string;
  stateType?: string;
  error?: string;
  cause?: string;
  /** Map iteration or Parallel branch index. */
  index?: number;
}

export class ExecutionNotFoundError extends Error {
  override readonly name = 'ExecutionNotFoundError';
}

/**
 * Executions, their events and their step logs under `<root>/engine/executions/<name>/`, so
 * `releng status`, `history` and `logs` in another process see what a running engine does.
 */
export class ExecutionStore {
  readonly dir: string;

  constructor(engineDir: string) {
    this.dir = join(engineDir, 'executions');
  }

  private pathOf(name: string, file: string): string {
    if (!REGEX.executionName.test(name)) {
      throw new ExecutionNotFoundError(`execution ${JSON.stringify(name)} is not a valid execution name`);
    }
    return join(this.dir, name, file);
  }

  /** Creates the record; false when an execution of that name exists already. */
  async create(record: ExecutionRecord): Promise<boolean> {
    const file = this.pathOf(record.name, 'execution.json');
    await mkdir(join(this.dir, record.name), { recursive: true });
    return withFileMutex(file, async () => {
      const exists = await readFile(file).then(
        () => true,
        () => false,
      );
      if (exists) return false;
      await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
      return true;
    });
  }

  async update(name: string, change: (record: ExecutionRecord) => void): Promise<ExecutionRecord> {
    const file = this.pathOf(name, 'execution.json');
    return withFileMutex(file, async () => {
      const record = await this.get(name);
      change(record);
      await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
      return record;
    });
  }

  async get(name: string): Promise<ExecutionRecord> {
    try {
      const record = JSON.parse(
        await readFile(this.pathOf(name, 'execution.json'), 'utf8'),
      ) as ExecutionRecord;
      if (record.status === 'RUNNING' && record.pid !== process.pid && !alive(record.pid)) {
        return {
          ...record,
          status: 'ABORTED',
          error: 'EngineGone',
          cause: `engine process ${record.pid} ended`,
        };
      }
      return record;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        throw new ExecutionNotFoundError(
          `no execution named ${JSON.stringify(name)}; run releng status to list them`,
        );
      }
      throw err;
    }
  }

  /** Newest first. */
  async list(): Promise<ExecutionRecord[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const records = await Promise.all(
      names.filter((n) => REGEX.executionName.test(n)).map((n) => this.get(n).catch(() => undefined)),
    );
    return records
      .filter((r): r is ExecutionRecord => r !== undefined)
      .sort((a, b) => b.startDate.localeCompare(a.startDate));
  }

  async appendEvent(name: string, event: ExecutionEvent): Promise<void> {
    await appendFile(this.pathOf(name, 'events.jsonl'), `${JSON.stringify(event)}\n`);
  }

  async events(name: string): Promise<ExecutionEvent[]> {
    await this.get(name);
    const text = await readFile(this.pathOf(name, 'events.jsonl'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ExecutionEvent);
  }

  /** Appends to a step's log (host operation output, handler results). */
  async appendLog(name: string, step: string, text: string): Promise<void> {
    const dir = join(this.dir, name, 'logs');
    await mkdir(dir, { recursive: true });
    await appendFile(join(dir, `${step.replaceAll(/[^A-Za-z0-9_.-]/g, '_')}.log`), text);
  }

  /** Each step's log, in the order the steps first wrote. */
  async logs(name: string, step?: string): Promise<Array<{ step: string; text: string }>> {
    await this.get(name);
    const dir = join(this.dir, name, 'logs');
    const files = await readdir(dir).catch(() => [] as string[]);
    const wanted = step ? `${step.replaceAll(/[^A-Za-z0-9_.-]/g, '_')}.log` : undefined;
    const out = [];
    for (const file of files.sort()) {
      if (wanted && file !== wanted) continue;
      out.push({ step: file.replace(/\.log$/, ''), text: await readFile(join(dir, file), 'utf8') });
    }
    return out;
  }
}
