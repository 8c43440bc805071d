import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../host/framework/fsutil.ts';

/** A lock file older than this belongs to a process that died mid-update. */
const STALE_LOCK_MS = 30_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the lock file if its writer is gone or it is too old; true when it was removed. */
async function breakStaleLock(lockPath: string): Promise<boolean> {
  const [pidText, info] = await Promise.all([
    readFile(lockPath, 'utf8').catch(() => ''),
    stat(lockPath).catch(() => undefined),
  ]);
  if (!info) return true;
  const pid = Number(pidText);
  if ((pid > 0 && !processAlive(pid)) || Date.now() - info.mtimeMs > STALE_LOCK_MS) {
    await rm(lockPath, { force: true });
    return true;
  }
  return false;
}

/** Takes `<file>.lock` with O_EXCL (one creator wins across processes), waiting for a holder. */
async function takeLock(lockPath: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await breakStaleLock(lockPath)) continue;
    await new Promise((resolve) => setTimeout(resolve, Math.min(2 + attempt * 3, 50)));
  }
}

/**
 * One JSON document on disk, updated read-modify-write under a cross-process lock file and
 * rewritten atomically (temp file, fsync, rename): a crash leaves the old or the new document,
 * and two `releng` processes never lose each other's updates. Updates within one process are
 * queued, so they do not spin on the lock file.
 */
export class JsonStore<T> {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly empty: () => T,
  ) {}

  async read(): Promise<T> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.empty();
      throw new Error(`${this.file}: ${(err as Error).message}`);
    }
  }

  /** Runs `change` on the current document (mutating it in place) and saves the result. */
  update<R>(change: (data: T) => R | Promise<R>): Promise<R> {
    const run = this.queue.then(async () => {
      const lockPath = `${this.file}.lock`;
      await mkdir(dirname(this.file), { recursive: true });
      await takeLock(lockPath);
      try {
        const data = await this.read();
        const result = await change(data);
        await writeFileAtomic(this.file, `${JSON.stringify(data, null, 1)}\n`);
        return result;
      } finally {
        await rm(lockPath, { force: true });
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
