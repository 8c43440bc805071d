import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { hostFileLockViews } from '../../cli/commands/host-file-locks.ts';
import { FileLocks, lockDir } from '../../host/framework/locks.ts';
import { loadConfig } from '../../shared/config/load.ts';
import { systemClock } from '../../shared/ports.ts';

/**
 * `releng locks` lists the host-side file locks too (read only), from their own files: a lock
 * this process holds, one whose holder process was killed, and none once released.
 */
const LOCKS = fileURLToPath(new URL('../../host/framework/locks.ts', import.meta.url));
const roots: string[] = [];
afterAll(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));
const config = loadConfig(undefined, {});

describe('host file locks in releng locks', () => {
  it('shows holder, host, pid and age, a killed holder as gone, and nothing once released', {
    timeout: 60_000,
  }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'releng-filelocks-'));
    roots.push(root);
    const locks = new FileLocks(lockDir(config, root), systemClock);
    const lease = await locks.acquire('git:8', 'compose-Extras', 600);
    const [held] = await hostFileLockViews(config, root, systemClock);
    expect(held).toMatchObject({
      name: 'git:8',
      source: 'host-file',
      owner: 'compose-Extras',
      host: hostname(),
      pid: process.pid,
      holderStatus: 'process running',
      gone: false,
    });
    expect(held!.ageSeconds).toBeLessThan(5);
    await lease.release();
    expect(await hostFileLockViews(config, root, systemClock)).toEqual([]);

    // Another process takes it and is killed holding it.
    const script = join(root, 'holder.mts');
    await writeFile(
      script,
      [
        `import { FileLocks } from ${JSON.stringify(LOCKS)};`,
        `await new FileLocks(${JSON.stringify(lockDir(config, root))}, { now: () => new Date() }).acquire('git:8', 'compose-Rocky', 600);`,
        `process.stdout.write('held\\n');`,
        'setInterval(() => {}, 1000);',
      ].join('\n'),
    );
    const holder = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((ok, fail) => {
      holder.stdout!.on('data', () => ok());
      holder.on('exit', (code) => fail(new Error(`the holder exited with ${code} before taking the lock`)));
    });
    const [live] = await hostFileLockViews(config, root, systemClock);
    expect(live).toMatchObject({ owner: 'compose-Rocky', pid: holder.pid, gone: false });
    holder.kill('SIGKILL');
    await new Promise((r) => holder.on('exit', r));
    const [dead] = await hostFileLockViews(config, root, systemClock);
    expect(dead).toMatchObject({ owner: 'compose-Rocky', holderStatus: 'process gone', gone: true });
  });
});
