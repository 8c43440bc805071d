import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from '../../host/framework/exec.ts';
import {
  buildPackages,
  noarch,
  type PackageSet,
  repomdProblems,
  signRepomd,
} from '../host-production/fixtures.ts';
import { withRsyncDaemon } from '../host-production/mirror.ts';
import { dnfClient, generateSigningKey } from '../support/rpm.ts';
import { releng } from './support.ts';

/**
 * `releng mirror-pull` against a real rsync daemon on 127.0.0.1 serving a signed createrepo_c
 * tree: what a mirror serves after each pull (and after each kill) must be consistent, signed by
 * the release key, and readable by dnf with repo_gpgcheck=1.
 */

let work: string;
let set: PackageSet;
const REPO = 'BaseOS/x86_64/os';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'releng-mirror-pull-'));
  set = await buildPackages(work, [noarch('hello', '1.0'), noarch('tools', '1.0')]);
}, 120_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Publishes revision n into `release`: packages first, then new signed repodata. */
async function publish(release: string, n: number, key = set.key): Promise<void> {
  const dir = join(release, REPO);
  await mkdir(join(dir, 'Packages'), { recursive: true });
  const names = n % 2 ? ['hello-1.0-1.noarch'] : ['hello-1.0-1.noarch', 'tools-1.0-1.noarch'];
  for (const name of names)
    await execFile(['cp', '-p', set.rpms[name]!, join(dir, 'Packages', `${name}.rpm`)]);
  await execFile(['createrepo_c', '--quiet', '--revision', String(n), dir]);
  await signRepomd(key, dir);
}

/** A fresh source tree served by a daemon, and a mirror dir. */
async function scenario(name: string, fn: (from: string, release: string, mirror: string) => Promise<void>) {
  const base = join(work, name);
  const release = join(base, 'pub', 'rocky', '8.10');
  await mkdir(release, { recursive: true });
  await mkdir(join(base, 'rsyncd'), { recursive: true });
  await withRsyncDaemon(join(base, 'rsyncd'), join(base, 'pub'), (url) =>
    fn(`${url}rocky/8.10`, release, join(base, 'mirror')),
  );
}

const pullArgs = (from: string, mirror: string, ...more: string[]) => [
  'mirror-pull',
  '--from',
  from,
  '--to',
  mirror,
  '--key',
  set.publicKey,
  ...more,
];

const repodataFiles = (mirror: string) => readdir(join(mirror, REPO, 'repodata'));

describe('releng mirror-pull', () => {
  it('pulls a signed tree that dnf reads with repo_gpgcheck=1; the state lives beside the mirror', async () => {
    await scenario('basic', async (from, release, mirror) => {
      await publish(release, 1);
      const run = await releng([...pullArgs(from, mirror), '--json']);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toMatchObject({ swapped: [REPO], kept: [] });
      expect(await repomdProblems(mirror, set.key)).toEqual([]);
      expect(await readFile(join(mirror, REPO, 'repodata', 'repomd.xml'))).toEqual(
        await readFile(join(release, REPO, 'repodata', 'repomd.xml')),
      );
      // Nothing of the pull's own (temp files, staging) is inside the served tree.
      const served = await readdir(mirror, { recursive: true });
      expect(served.filter((p) => /mirror-pull|~tmp~|^\.|\/\./.test(p))).toEqual([]);
      const dnf = await dnfClient(join(work, 'dnf-basic'), [
        { id: 'mirror', path: join(mirror, REPO), gpgKey: set.publicKey },
      ]);
      expect((await dnf.run(['repoquery', '--qf', '%{name}', '--refresh'])).stdout).toContain('hello');
      // A rerun with nothing new trusts the stored key and swaps nothing.
      const again = await releng(['mirror-pull', '--from', from, '--to', mirror, '--json']);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!)).toMatchObject({
        swapped: [],
        unchanged: [REPO],
      });
    });
  }, 120_000);

  it('refuses metadata signed by another key and keeps serving the previous, verified metadata', async () => {
    await scenario('other-key', async (from, release, mirror) => {
      await publish(release, 1);
      {
        const r = await releng(pullArgs(from, mirror));
        expect(r.code, r.stderr + r.stdout).toBe(0);
      }
      const before = await readFile(join(mirror, REPO, 'repodata', 'repomd.xml'));
      const intruder = await generateSigningKey(join(work, 'intruder-gnupg'), 'Intruder <x@rocky.invalid>');
      await publish(release, 2, intruder);
      const run = await releng(pullArgs(from, mirror));
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`kept the previous metadata of ${REPO}: repomd.xml.asc does not verify`);
      expect(await readFile(join(mirror, REPO, 'repodata', 'repomd.xml'))).toEqual(before);
      expect(await repomdProblems(mirror, set.key)).toEqual([]);
    });
  }, 120_000);

  it('keeps every file an earlier repomd.xml named for --keep-hours, and removes them after', async () => {
    await scenario('grace', async (from, release, mirror) => {
      await publish(release, 1);
      {
        const r = await releng(pullArgs(from, mirror));
        expect(r.code, r.stderr + r.stdout).toBe(0);
      }
      const first = await repodataFiles(mirror);
      await publish(release, 2);
      {
        const r = await releng(pullArgs(from, mirror));
        expect(r.code, r.stderr + r.stdout).toBe(0);
      }
      const second = await repodataFiles(mirror);
      // The old primary, filelists, … are still there beside the new ones.
      for (const name of first) expect(second).toContain(name);
      expect(second.length).toBeGreaterThan(first.length);
      // A package the source drops stays while a kept primary names it, and goes after.
      const tools = join(REPO, 'Packages', 'tools-1.0-1.noarch.rpm');
      await rm(join(release, tools));
      await publish(release, 3);
      const third = await releng(pullArgs(from, mirror));
      expect(third.code, third.stderr).toBe(0);
      expect(existsSync(join(mirror, tools))).toBe(true);
      const upstream = await readdir(join(release, REPO, 'repodata'));
      const expire = await releng(pullArgs(from, mirror, '--keep-hours', '0'));
      expect(expire.code, expire.stderr).toBe(0);
      expect((await repodataFiles(mirror)).sort()).toEqual(upstream.sort());
      expect(await repomdProblems(mirror, set.key)).toEqual([]);
      // The expired primaries no longer name tools, so the next pull deletes it.
      expect((await releng(pullArgs(from, mirror, '--keep-hours', '0'))).code).toBe(0);
      expect(existsSync(join(mirror, tools))).toBe(false);
    });
  }, 120_000);

  it('takes a re-signed repomd.xml of the same size and mtime as the one it serves', async () => {
    await scenario('same-second', async (from, release, mirror) => {
      await publish(release, 1);
      expect((await releng(pullArgs(from, mirror))).code).toBe(0);
      const repodata = join(release, REPO, 'repodata');
      const stamps = await Promise.all(['repomd.xml', 'repomd.xml.asc'].map((n) => stat(join(repodata, n))));
      // The same packages under another revision: new bytes, same size; then the old mtimes.
      await publish(release, 3);
      for (const [i, name] of ['repomd.xml', 'repomd.xml.asc'].entries()) {
        const now = await stat(join(repodata, name));
        expect(now.size).toBe(stamps[i]!.size);
        await utimes(join(repodata, name), stamps[i]!.atime, stamps[i]!.mtime);
      }
      const run = await releng([...pullArgs(from, mirror), '--json']);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toMatchObject({ swapped: [REPO] });
      expect(await readFile(join(mirror, REPO, 'repodata', 'repomd.xml'))).toEqual(
        await readFile(join(repodata, 'repomd.xml')),
      );
      expect(await repomdProblems(mirror, set.key)).toEqual([]);
    });
  }, 120_000);

  it('killed at random points: the served tree stays consistent, and a rerun finishes', async () => {
    await scenario('killed', async (from, release, mirror) => {
      await publish(release, 1);
      {
        const r = await releng(pullArgs(from, mirror));
        expect(r.code, r.stderr + r.stdout).toBe(0);
      }
      let killed = 0;
      const stages = new Set<string>();
      for (let n = 2; n <= 7; n++) {
        await writeFile(join(release, `images-${n}.img`), Buffer.alloc(2 * 1024 * 1024, n));
        await publish(release, n);
        const run = await releng(pullArgs(from, mirror, '--bwlimit', '4000'), (n * 373) % 1500);
        if (run.killed) killed++;
        if (run.killed) stages.add(/stage \d/.exec(run.lastLine)?.[0] ?? run.lastLine);
        expect(await repomdProblems(mirror, set.key), `after the kill of pull ${n}`).toEqual([]);
        expect(existsSync(join(mirror, REPO, 'repodata', 'repomd.xml'))).toBe(true);
        const rerun = await releng(pullArgs(from, mirror));
        expect(rerun.code, rerun.stderr).toBe(0);
        expect(await readFile(join(mirror, REPO, 'repodata', 'repomd.xml'))).toEqual(
          await readFile(join(release, REPO, 'repodata', 'repomd.xml')),
        );
      }
      expect(killed).toBeGreaterThan(2);
      expect(stages.size, [...stages].join(', ')).toBeGreaterThan(1);
    });
  }, 300_000);

  it('puts back a served repodata/ that a kill between the two renames of a swap left aside', async () => {
    await scenario('aside', async (from, release, mirror) => {
      await publish(release, 1);
      expect((await releng(pullArgs(from, mirror))).code).toBe(0);
      // What a kill right after moving the served dir aside leaves: no repodata/ served.
      const aside = join(work, 'aside', '.mirror.mirror-pull', 'aside');
      await mkdir(aside, { recursive: true });
      await rename(join(mirror, REPO, 'repodata'), join(aside, encodeURIComponent(REPO)));
      await publish(release, 2);
      const run = await releng([...pullArgs(from, mirror), '--json']);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toMatchObject({
        restored: [REPO],
        swapped: [REPO],
      });
      expect(await repomdProblems(mirror, set.key)).toEqual([]);
      expect(await readdir(aside)).toEqual([]);
    });
  }, 120_000);

  it('names a bad --from or --keep-hours', async () => {
    const bad = await releng(['mirror-pull', '--from', 'http://example/x', '--to', join(work, 'x')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--from "http://example/x": expected rsync://HOST[:PORT]/MODULE/PATH');
    const hours = await releng([
      'mirror-pull',
      '--from',
      'rsync://h/m/p',
      '--to',
      join(work, 'x'),
      '--keep-hours',
      'soon',
    ]);
    expect(hours.code).toBe(2);
    expect(hours.stderr).toContain('--keep-hours "soon"');
  }, 60_000);
});
