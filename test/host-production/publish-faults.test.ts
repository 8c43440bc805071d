import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from '../../host/framework/exec.ts';
import { findRepoDirs } from '../../host/repo/walk.ts';
import {
  approveStaged,
  buildPackages,
  noarch,
  type PackageSet,
  publishArgs,
  repomdProblems,
  signRepomd,
  testConfigFile,
  testRelease,
} from './fixtures.ts';

/** The real entry the SSM documents run, in its own process so it can be killed. */
const HOST = join(import.meta.dirname, '..', '..', 'bin', 'releng-host.mjs');

const IMAGE_BYTES = 24 * 1024 * 1024;
let work: string;
let root: string;
let set: PackageSet;
const at = () => testRelease(root).paths;

/** A new staged revision: a fresh image (slow enough to kill mid-copy) and new repodata everywhere. */
async function stageRevision(n: number): Promise<void> {
  const staging = at().stagingRelease;
  await mkdir(join(staging, 'images'), { recursive: true });
  await writeFile(join(staging, 'images', `cloud-${n}.img`), randomBytes(IMAGE_BYTES));
  for (const repo of ['BaseOS/x86_64/os', 'AppStream/x86_64/os', 'BaseOS/source/tree']) {
    const dir = join(staging, repo);
    await mkdir(join(dir, 'Packages', 'h'), { recursive: true });
    await execFile(['cp', '-p', set.rpms['hello-1.0-1.noarch']!, join(dir, 'Packages', 'h')]);
    await execFile(['createrepo_c', '--quiet', '--revision', String(n), dir]);
    await signRepomd(set.key, dir);
  }
}

/**
 * Runs sync-to-prod in a child and SIGKILLs its whole process group `delayMs` after `line`
 * appears; with delay -1, as soon as rsync has a partial file in the publish temp dir
 * (mid-copy, whatever the machine's speed).
 */
async function killedAt(line: RegExp, delayMs: number): Promise<boolean> {
  const digest = await approveStaged(root, set);
  const args = [
    HOST,
    'sync-to-prod',
    '--root',
    root,
    '--config',
    testConfigFile(root),
    ...publishArgs(digest),
  ];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let killed = false;
  let seen = '';
  child.stderr.on('data', (d: Buffer) => {
    seen += d.toString();
    if (!killed && line.test(seen)) {
      killed = true;
      const kill = () => process.kill(-child.pid!, 'SIGKILL');
      if (delayMs >= 0) setTimeout(kill, delayMs);
      else {
        const tempDir = join(root, 'mnt/repos-production/.releng/tmp');
        const poll = setInterval(() => {
          if (existsSync(tempDir) && readdirSync(tempDir).length) {
            clearInterval(poll);
            kill();
          }
        }, 1);
        child.on('close', () => clearInterval(poll));
      }
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (!killed && code !== 0) throw new Error(`sync-to-prod failed before the kill point: ${seen}`);
  await lockReleasedByDeath();
  return killed;
}

/** Waits until the killed run's process is gone, as it is by the time anyone reruns. */
async function lockReleasedByDeath(): Promise<void> {
  const lock = join(root, 'mnt/compose/.releng/locks/publish.lock');
  for (let i = 0; i < 100; i++) {
    const holder = await readFile(lock, 'utf8').then(JSON.parse, () => undefined);
    if (!holder) return;
    try {
      process.kill(holder.pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function publishToEnd(): Promise<void> {
  const digest = await approveStaged(root, set);
  await execFile([
    process.execPath,
    HOST,
    'sync-to-prod',
    '--root',
    root,
    '--config',
    testConfigFile(root),
    ...publishArgs(digest),
  ]);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'releng-faults-'));
  root = join(work, 'root');
  set = await buildPackages(work, [noarch('hello', '1.0')]);
  await stageRevision(0);
  await publishToEnd();
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('sync-to-prod killed part way', () => {
  const packagesPass = /\$ rsync .*--files-from=- --from0 \S+\/ \S+\/\n/;
  // Metadata is copied whole into a scratch dir outside the tree, checked, then renamed in.
  const metadataCopy = /\$ rsync .*--files-from=- --from0 \S+\/ \S+\/\.releng\/tmp\/install-[0-9a-f]+\/\n/;
  const renames = /rename [0-9]+ file\(s\) into place/;
  it.each([
    ['before the packages pass', /\[sync-to-prod\] \$ rsync/, 0],
    ['during the packages pass', packagesPass, -1],
    ['after the packages pass', /record the repodata/, 0],
    ['while new metadata files are copied', metadataCopy, 5],
    ['while metadata files and repomd.xml are renamed into place', renames, 0],
    ['while replaced metadata files are removed', /remove metadata files/, 0],
  ])('%s: production stays consistent and a rerun finishes the publish', async (_, line, delay) => {
    const n =
      Number(
        readFileSync(join(at().stagingRelease, 'BaseOS/x86_64/os/repodata/repomd.xml'), 'utf8').match(
          /<revision>([0-9]+)/,
        )![1],
      ) + 1;
    await stageRevision(n);
    const killed = await killedAt(line, delay);
    expect(killed).toBe(true);
    // Whatever the moment, a file lands whole or not at all, and no partial file sits in the tree.
    const image = join(at().productionRelease, 'images', `cloud-${n}.img`);
    if (existsSync(image)) expect(statSync(image).size).toBe(IMAGE_BYTES);
    expect(readdirSync(join(at().productionRelease, 'images')).filter((f) => f.startsWith('.'))).toEqual([]);
    expect(await repomdProblems(at().productionRelease, set.key)).toEqual([]);

    await publishToEnd();
    expect(await repomdProblems(at().productionRelease, set.key)).toEqual([]);
    for (const repo of await findRepoDirs(at().stagingRelease)) {
      const repomd = (tree: string) => readFileSync(join(tree, repo, 'repodata', 'repomd.xml'));
      expect(repomd(at().productionRelease).equals(repomd(at().stagingRelease))).toBe(true);
    }
    expect(readFileSync(join(at().productionRelease, 'images', `cloud-${n}.img`)).length).toBe(
      24 * 1024 * 1024,
    );
  });
});
