import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isErrno } from '../../shared/errors.ts';

/** How long a mutex may be held before another process may assume its holder died. */
const STALE_MS = 30_000;

/** Whether a process of this host still runs (EPERM: it does, as another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, 'EPERM');
  }
}

/** In-process queue per path, so concurrent executions of one engine take turns without spinning. */
const queues = new Map<string, Promise<unknown>>();

async function takeDir(dir: string): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(dir);
      await writeFile(`${dir}/pid`, String(process.pid));
      return;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
    // A holder that died mid-update must not wedge every later command.
    const holderPid = Number(await readFile(`${dir}/pid`, 'utf8').catch(() => '0'));
    const age = Date.now() - (await stat(dir).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    if ((holderPid > 0 && !alive(holderPid)) || age > STALE_MS) {
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    await new Promise((r) => setTimeout(r, Math.min(5 + attempt * 5, 50)));
  }
}

/**
 * Runs `fn` while holding `path.mutex` (a directory: mkdir is atomic across processes), so a
 * read-modify-write of a JSON file by two `releng` processes cannot lose an update.
 */
export async function withFileMutex<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const dir = `${path}.mutex`;
  const previous = queues.get(dir) ?? Promise.resolve();
  const run = previous.then(async () => {
    await takeDir(dir);
    try {
      return await fn();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  const settled = run.catch(() => undefined);
  queues.set(dir, settled);
  try {
    return await run;
  } finally {
    if (queues.get(dir) === settled) queues.delete(dir);
  }
}
