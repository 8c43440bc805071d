import { readdir, readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_LOCK_TIMING, type FileLockHolder, lockDir } from '../../host/framework/locks.ts';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import type { Clock } from '../../shared/ports.ts';
import { alive } from '../engine/file-mutex.ts';
import type { LockView } from '../engine/lock-views.ts';

/**
 * Host-side file locks (host/framework/locks.ts): `<lock dir>/<name>.lock` holds or links to the
 * holder's JSON; a released one is gone or dangles. Read only: their holders free them.
 */
export async function hostFileLockViews(
  config: ReleaseConfig,
  root: string,
  clock: Clock,
): Promise<LockView[]> {
  const dir = lockDir(config, root);
  const views: LockView[] = [];
  for (const file of (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.lock'))) {
    // A released lock's link dangles: nothing to read, nothing held.
    const [text, info] = await Promise.all([
      readFile(join(dir, file), 'utf8').catch(() => undefined),
      stat(join(dir, file)).catch(() => undefined),
    ]);
    if (!text || !info) continue;
    let holder: FileLockHolder;
    try {
      holder = JSON.parse(text) as FileLockHolder;
    } catch {
      continue;
    }
    const expired = Date.parse(holder.expiresAt) <= clock.now().getTime();
    const dead = holder.host === hostname() && holder.pid > 0 && !alive(holder.pid);
    // Its holder rewrites it every heartbeat (host/framework/locks.ts): an old one was abandoned.
    const stale = clock.now().getTime() - info.mtimeMs > DEFAULT_LOCK_TIMING.staleAfterMs;
    views.push({
      name: holder.name,
      source: 'host-file',
      owner: holder.owner,
      execution: holder.owner,
      expiresAt: holder.expiresAt,
      expired,
      takenAt: holder.acquiredAt,
      ageSeconds: Math.round((clock.now().getTime() - Date.parse(holder.acquiredAt)) / 1000),
      host: holder.host,
      pid: holder.pid,
      holderStatus: dead ? 'process gone' : stale ? 'heartbeat stale' : 'process running',
      gone: expired || dead || stale,
    });
  }
  return views;
}
