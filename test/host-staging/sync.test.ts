import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageStore } from '../../cli/demo/package-store.ts';
import { execFile } from '../../host/framework/exec.ts';
import { hostRunner, newStore } from './support.ts';

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('sync-to-staging killed midway', () => {
  let dir: string;
  let store: PackageStore;
  let composeTree: string;
  const staging = () => join(dir, 'mnt/repos-staging/mirror/pub/rocky/8.7-RC1');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-kill-'));
    store = await newStore(dir);
    const run = await hostRunner(store)('compose', '--compose', 'Rocky', '--kind', 'updates');
    expect(run.code, run.stderr).toBe(0);
    composeTree = join(dir, 'mnt/compose/8', run.result.composeId as string, 'compose');
    // A larger file, so that the throttled sync is still copying packages when it is killed.
    await writeFile(
      join(composeTree, 'BaseOS/x86_64/os/Packages/d/demo-large-1.0-1.el8.noarch.rpm'),
      Buffer.alloc(600_000, 7),
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves no repodata ahead of packages and no partial file, and a rerun completes it', async () => {
    // Real rsync, slowed down with --bwlimit so the kill lands mid-transfer.
    const bin = join(dir, 'slow-bin');
    await mkdir(bin);
    await writeFile(join(bin, 'rsync'), '#!/bin/sh\nexec /usr/bin/rsync --bwlimit=100 "$@"\n');
    await chmod(join(bin, 'rsync'), 0o755);
    const child = spawn(
      process.execPath,
      [
        'bin/releng-host.mjs',
        'sync-to-staging',
        '--root',
        dir,
        '--config',
        store.configPath,
        '--major',
        '8',
        '--compose',
        'Rocky',
      ],
      { detached: true, stdio: 'ignore', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } },
    );
    const deadline = Date.now() + 30_000;
    while (!(await files(staging())).some((f) => f.endsWith('.rpm')) && Date.now() < deadline)
      await sleep(20);
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));

    const partial = await files(staging());
    expect(partial.some((f) => f.endsWith('.rpm'))).toBe(true);
    expect(partial.filter((f) => f.includes('repodata/'))).toEqual([]);
    expect(partial.filter((f) => f.split('/').at(-1)!.startsWith('.'))).toEqual([]);
    expect(partial).not.toContain('BaseOS/x86_64/os/Packages/d/demo-large-1.0-1.el8.noarch.rpm');

    const rerun = await hostRunner(store)('sync-to-staging', '--compose', 'Rocky');
    expect(rerun.code, rerun.stderr).toBe(0);
    const wanted = (await files(composeTree)).filter((f) => !f.startsWith('metadata/'));
    const got = (await files(staging())).filter((f) => !f.startsWith('metadata/') && f !== 'COMPOSE_ID');
    expect(got).toEqual(wanted);
    const diff = await execFile(
      ['diff', '-r', '-x', 'metadata', '-x', 'COMPOSE_ID', composeTree, staging()],
      { okCodes: [0, 1] },
    );
    expect(diff.stdout).toBe('');
  });
});

describe('sync-to-staging-sig', () => {
  let dir: string;
  let store: PackageStore;

  /** A SIG compose as empanadas' sync-sig leaves it: compose/<major>/<project>/<arch>/os. */
  async function sigCompose(id: string, packages: string[]): Promise<void> {
    const root = join(dir, 'mnt/compose/8', id);
    const repo = join(root, 'compose/8/kernel/x86_64/os');
    await mkdir(join(repo, 'Packages'), { recursive: true });
    for (const p of packages) await copyFile(p, join(repo, 'Packages', p.split('/').at(-1)!));
    await execFile(['createrepo_c', '--quiet', repo]);
    await writeFile(join(root, 'COMPOSE_ID'), `${id}\n`);
    await writeFile(join(root, 'STATUS'), 'FINISHED\n');
    await rm(join(dir, 'mnt/compose/8/latest-SIG-kernel-8'), { force: true });
    await symlink(id, join(dir, 'mnt/compose/8/latest-SIG-kernel-8'));
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-sig-'));
    store = await newStore(dir);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('mirrors the SIG compose into pub/sig, deleting what the compose dropped', async () => {
    const pkgs = (d: string) => join(dir, 'mnt/koji/packages', d);
    const hello = pkgs('demo-hello/1.0/1.el8/noarch/demo-hello-1.0-1.el8.noarch.rpm');
    const tool = pkgs('demo-tool/1.0/1.el8/x86_64/demo-tool-1.0-1.el8.x86_64.rpm');
    await sigCompose('SIG-kernel-8-20260101.0', [hello, tool]);
    const host = hostRunner(store);
    const first = await host('sync-to-staging-sig', '--major', '8', '--sig', 'kernel');
    expect(first.code, first.stderr).toBe(0);
    const target = join(dir, 'mnt/repos-staging/mirror/pub/sig/8/kernel/x86_64/os/Packages');
    expect((await readdir(target)).sort()).toEqual([
      'demo-hello-1.0-1.el8.noarch.rpm',
      'demo-tool-1.0-1.el8.x86_64.rpm',
    ]);
    await sigCompose('SIG-kernel-8-20260101.1', [hello]);
    const second = await host('sync-to-staging-sig', '--major', '8', '--sig', 'kernel');
    expect(second.code, second.stderr).toBe(0);
    expect(await readdir(target)).toEqual(['demo-hello-1.0-1.el8.noarch.rpm']);
    expect(existsSync(join(target, '../repodata/repomd.xml'))).toBe(true);
  });
});
