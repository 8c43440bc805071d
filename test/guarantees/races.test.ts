import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from '../../host/framework/exec.ts';
import { repomdProblems } from '../host-production/fixtures.ts';
import { createLoop, HOST, type Loop, paths, publishArgv, stageRevision } from './fault-loop.ts';

/**
 * Guarantee 3: one writer per lane, with real `releng-host` processes racing on one root.
 * Two publishes at once, file-lists during a publish, and a publish whose holder was killed
 * with SIGKILL while it held the publish lock.
 */

let work: string;
let loop: Loop;
let revision = 0;
const lockFile = () => join(loop.root, 'mnt/compose/.releng/locks/publish.lock');

interface Exit {
  code: number | null;
  stderr: string;
}

function start(argv: string[]): { child: ChildProcess; exit: Promise<Exit>; stderr: () => string } {
  const child = spawn(process.execPath, argv, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = new Promise<Exit>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  return { child, exit, stderr: () => stderr };
}

async function until(what: string, condition: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function productionIsStaging(): Promise<void> {
  expect(await repomdProblems(paths(loop).productionRelease, loop.set.key)).toEqual([]);
  const repomd = (tree: string) => readFileSync(join(tree, 'BaseOS/x86_64/os/repodata/repomd.xml'));
  expect(repomd(paths(loop).productionRelease).equals(repomd(paths(loop).stagingRelease))).toBe(true);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'releng-races-'));
  loop = await createLoop(work, 3);
  await stageRevision(loop, revision);
  await execFile([process.execPath, ...(await publishArgv(loop))]);
}, 120_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('one writer on production', () => {
  it('of two sync-to-prod started together, one publishes and the other is refused naming the holder (5 races)', async () => {
    for (let race = 0; race < 5; race++) {
      await stageRevision(loop, ++revision);
      const argv = await publishArgv(loop);
      const exits = await Promise.all([start(argv).exit, start(argv).exit]);
      const codes = exits.map((e) => e.code).sort();
      const refused = exits.filter((e) => e.code !== 0);
      // Both may succeed when the first finished before the second looked: then they ran in turn.
      expect(codes[0], exits.map((e) => e.stderr).join('\n')).toBe(0);
      for (const loser of refused)
        expect(loser.stderr).toMatch(/lock publish is held by sync-to-prod:[0-9]+/);
      await productionIsStaging();
      expect(existsSync(lockFile())).toBe(false);
    }
  });

  it('file-lists while a publish runs is refused, and writes its lists once the publish is done', async () => {
    await stageRevision(loop, ++revision);
    const publish = start(await publishArgv(loop));
    await until('the publish to take its lock', () => existsSync(lockFile()));
    // Held mid-publish (SIGSTOP), so file-lists surely meets it whatever the machine's speed.
    process.kill(-publish.child.pid!, 'SIGSTOP');
    const listed = await start([HOST, 'file-lists', '--root', loop.root]).exit;
    process.kill(-publish.child.pid!, 'SIGCONT');
    const published = await publish.exit;
    expect(published.code, published.stderr).toBe(0);
    expect(listed.code).toBe(1);
    expect(listed.stderr).toMatch(/file-lists refused: a production publish is running/);
    await execFile([process.execPath, HOST, 'file-lists', '--root', loop.root]);
    expect(
      readFileSync(join(loop.root, 'mnt/repos-production/mirror/pub/rocky/fullfiletimelist-rocky'), 'utf8'),
    ).toMatch(/\[End\]\n$/);
  });

  it('a publish killed with SIGKILL while holding the lock does not block the next one', async () => {
    await stageRevision(loop, ++revision);
    const publish = start(await publishArgv(loop));
    await until('the publish to take its lock', () => existsSync(lockFile()));
    const holder = JSON.parse(readFileSync(lockFile(), 'utf8')) as {
      pid: number;
      owner: string;
      token: number;
    };
    process.kill(-publish.child.pid!, 'SIGKILL');
    await publish.exit;
    // The dead run's lock is still there, naming a process that no longer exists ...
    expect(existsSync(lockFile())).toBe(true);
    expect(() => process.kill(holder.pid, 0)).toThrow();
    // ... and the next run takes it over (same host, owner dead) without waiting for its expiry.
    await execFile([process.execPath, ...(await publishArgv(loop))]);
    await productionIsStaging();
    expect(existsSync(lockFile())).toBe(false);
    // The next run held the next fencing token, and the dead run's claim is gone.
    expect(readdirSync(`${lockFile().replace(/\.lock$/, '')}.claims`)).toEqual([
      `${holder.token + 1}.released`,
    ]);
  });
});
