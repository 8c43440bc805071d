import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import type { Clock } from '../../shared/ports.ts';

export interface FileLockHolder {
  name: string;
  owner: string;
  host: string;
  pid: number;
  expiresAt: string;
}

export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
  constructor(readonly holder: FileLockHolder) {
    super(
      `lock ${holder.name} is held by ${holder.owner} (pid ${holder.pid} on ${holder.host}) until ${holder.expiresAt}`,
    );
  }
}

/** Locks live on the shared compose mount so every host sees them. */
export function lockDir(config: ReleaseConfig, root: string): string {
  return join(root, config.mounts.compose, '.releng', 'locks');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A lock file created with link(2), which fails if the name exists, holding owner and expiry.
 * An expired lock, or one whose process on this host is gone, is moved aside (rename is atomic,
 * so of two takers one wins) and taken. The host operations take these on top of the state
 * machines' DynamoDB locks, so a run by hand is guarded too.
 */
export class FileLocks {
  constructor(
    private readonly dir: string,
    private readonly clock: Clock,
  ) {}

  private path(name: string): string {
    return join(this.dir, `${name.replaceAll(/[^A-Za-z0-9_.-]/g, '_')}.lock`);
  }

  async read(name: string): Promise<FileLockHolder | undefined> {
    try {
      return JSON.parse(await readFile(this.path(name), 'utf8')) as FileLockHolder;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private stale(holder: FileLockHolder): boolean {
    if (Date.parse(holder.expiresAt) <= this.clock.now().getTime()) return true;
    return holder.host === hostname() && !alive(holder.pid);
  }

  /** Takes the lock or throws LockHeldError naming who holds it. */
  async acquire(name: string, owner: string, ttlSeconds: number): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const holder: FileLockHolder = {
      name,
      owner,
      host: hostname(),
      pid: process.pid,
      expiresAt: new Date(this.clock.now().getTime() + ttlSeconds * 1000).toISOString(),
    };
    const tmp = join(this.dir, `.${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(tmp, JSON.stringify(holder));
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await link(tmp, this.path(name));
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const current = await this.read(name);
        if (current && !this.stale(current)) throw new LockHeldError(current);
        await rename(this.path(name), `${this.path(name)}.stale-${randomBytes(4).toString('hex')}`).catch(
          () => {},
        );
      }
      throw new Error(`lock ${name}: could not be taken after 3 attempts`);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async release(name: string, owner: string): Promise<void> {
    const current = await this.read(name);
    if (current && current.owner === owner && current.pid === process.pid)
      await rm(this.path(name), { force: true });
  }

  /** Like acquire, but waits up to `waitMs` for a live holder to finish. */
  async acquireWaiting(name: string, owner: string, ttlSeconds: number, waitMs: number): Promise<void> {
    const deadline = Date.now() + waitMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await this.acquire(name, owner, ttlSeconds);
      } catch (err) {
        if (!(err instanceof LockHeldError) || Date.now() + delay > deadline) throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** Runs `fn` holding the lock, releasing it on every exit path. */
  async with<T>(name: string, owner: string, ttlSeconds: number, fn: () => Promise<T>): Promise<T> {
    await this.acquire(name, owner, ttlSeconds);
    try {
      return await fn();
    } finally {
      await this.release(name, owner);
    }
  }
}
