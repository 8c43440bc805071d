import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from '../../host/framework/exec.ts';
import { FileLocks, lockDir } from '../../host/framework/locks.ts';
import { fileLists } from '../../host/operations/file-lists.ts';
import { rollback } from '../../host/operations/rollback.ts';
import { syncToProd } from '../../host/operations/sync-to-prod.ts';
import { PUBLISH_LOCK } from '../../shared/lanes.ts';
import { dnfClient } from '../support/rpm.ts';
import {
  approveStaged,
  buildPackages,
  keyOverrides,
  noarch,
  type PackageSet,
  publishArgs,
  RELEASE_8_10,
  repomdProblems,
  signRepomd,
  testRelease,
  writeRepo,
} from './fixtures.ts';
import { mismatches, readTimeList, withRsyncDaemon } from './mirror.ts';
import { losePublishLockAt, runOperation } from './run.ts';

let work: string;
let root: string;
let set: PackageSet;
const at = () => testRelease(root).paths;

async function stage(layout: Record<string, string[]>): Promise<void> {
  const staging = at().stagingRelease;
  for (const [repo, packages] of Object.entries(layout)) await writeRepo(set, join(staging, repo), packages);
}

async function publish(extra: string[] = []) {
  const digest = await approveStaged(root, set);
  return runOperation(syncToProd, root, [...publishArgs(digest), ...extra], keyOverrides(set));
}

/** path -> size:mtime:sha of repomd files, to prove production did not move. */
async function snapshot(dir: string): Promise<string> {
  const { stdout } = await execFile(['find', '.', '-printf', '%P %y %s %T@\n'], { cwd: dir });
  return stdout.split('\n').sort().join('\n');
}

async function dnfSees(repo: string, clientDir: string): Promise<string[]> {
  const dnf = await dnfClient(join(work, clientDir), [
    { id: repo.replaceAll('/', '-'), path: join(at().productionRelease, repo), gpgKey: set.publicKey },
  ]);
  await dnf.refresh();
  const { stdout } = await dnf.run(['repoquery', '--qf', '%{name}-%{version}', '--refresh']);
  return stdout.split('\n').filter(Boolean).sort();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'releng-prod-'));
  root = join(work, 'root');
  set = await buildPackages(work, [
    noarch('hello', '1.0'),
    noarch('hello', '1.1'),
    noarch('tools', '1.0'),
    noarch('app', '1.0'),
    noarch('devtool', '1.0'),
  ]);
  await stage({
    'BaseOS/x86_64/os': ['hello-1.0-1.noarch', 'tools-1.0-1.noarch'],
    'AppStream/x86_64/os': ['app-1.0-1.noarch'],
    'Devel/x86_64/os': ['hello-1.0-1.noarch', 'devtool-1.0-1.noarch'],
  });
  const staging = at().stagingRelease;
  await writeFile(join(staging, 'BaseOS/x86_64/os/.treeinfo'), '[general]\nfamily = Rocky Linux\n');
  await symlink('Devel', join(staging, 'devel'));
  await writeFile(join(staging, 'COMPOSE_ID'), 'Rocky-8-updates-20260101.0\n');
  await mkdir(join(staging, 'metadata'));
  await writeFile(join(staging, 'metadata', 'composeinfo.json'), '{}\n');
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('sync-to-prod', () => {
  it('publishes 8.10 staging to production 8.10, signed, hardlinked, readable by dnf', async () => {
    const { result } = await publish();
    const prod = at().productionRelease;
    expect(prod.endsWith('/rocky/8.10')).toBe(true);
    expect(result.reposUpdated).toEqual(['AppStream/x86_64/os', 'BaseOS/x86_64/os', 'Devel/x86_64/os']);
    expect(await repomdProblems(prod, set.key)).toEqual([]);
    expect(readlinkSync(join(prod, 'devel'))).toBe('Devel');
    expect(readFileSync(join(prod, 'COMPOSE_ID'), 'utf8')).toBe('Rocky-8-updates-20260101.0\n');
    // The same package in BaseOS and Devel is one file now; metadata is never merged.
    const inode = (p: string) => statSync(join(prod, p)).ino;
    expect(inode('BaseOS/x86_64/os/Packages/h/hello-1.0-1.noarch.rpm')).toBe(
      inode('Devel/x86_64/os/Packages/h/hello-1.0-1.noarch.rpm'),
    );
    expect(await dnfSees('BaseOS/x86_64/os', 'dnf-baseos')).toEqual(['hello-1.0', 'tools-1.0']);
    expect(await dnfSees('Devel/x86_64/os', 'dnf-devel')).toEqual(['devtool-1.0', 'hello-1.0']);
    expect(await dnfSees('AppStream/x86_64/os', 'dnf-appstream')).toEqual(['app-1.0']);
  });

  it('plans a publish in a dry run and changes nothing', async () => {
    await writeFile(join(at().stagingRelease, 'AppStream/x86_64/os/Packages/extra.txt'), 'new\n');
    const before = await snapshot(at().productionRelease);
    const { ctx, result } = await publish(['--dry-run']);
    expect(await snapshot(at().productionRelease)).toBe(before);
    const plan = ctx.plan.join('\n');
    const packages = plan.indexOf('--files-from=-');
    const hardlink = plan.indexOf('hardlink identical files');
    expect(packages).toBeGreaterThan(-1);
    expect(hardlink).toBeGreaterThan(packages);
    expect(result.filesPublished).toBe(1);
    await rm(join(at().stagingRelease, 'AppStream/x86_64/os/Packages/extra.txt'));
  });

  it('waits for no one: a publish is refused while another holds the publish lock', async () => {
    const locks = new FileLocks(lockDir(testRelease(root).config, root), { now: () => new Date() });
    await locks.acquire(PUBLISH_LOCK, 'file-lists:elsewhere', 600);
    try {
      await expect(publish()).rejects.toThrow(/lock publish is held by file-lists:elsewhere/);
    } finally {
      await locks.release(PUBLISH_LOCK, 'file-lists:elsewhere');
    }
  });

  it('publishes under a fencing token that rises with every holder of the publish lock', async () => {
    const first = (await publish()).result.lockToken as number;
    const second = (await publish()).result.lockToken as number;
    expect(first).toBeGreaterThan(0);
    expect(second).toBe(first + 1);
  });

  it('is a no-op when run again', async () => {
    const before = await snapshot(at().productionRelease);
    const { result } = await publish();
    expect(result.reposUpdated).toEqual([]);
    expect(result.filesPublished, JSON.stringify(result)).toBe(0);
    expect(await snapshot(at().productionRelease)).toBe(before);
  });

  it('lets an rsync mirror fetch exactly what the file lists name', async () => {
    await runOperation(fileLists, root, []);
    const pub = join(at().production, 'mirror', 'pub');
    const mirror = join(work, 'mirror');
    await withRsyncDaemon(work, pub, (url) => execFile(['rsync', '-a', url, `${mirror}/`]));
    for (const [tree, list] of [
      ['rocky', 'fullfiletimelist-rocky'],
      ['', 'fullfiletimelist-rocky'],
    ] as const) {
      const { files, sha1 } = await readTimeList(join(mirror, tree, list));
      expect(files.length).toBeGreaterThan(20);
      expect(
        await mismatches(
          join(mirror, tree),
          files.filter((f) => f.type !== 'd'),
        ),
      ).toEqual([]);
      expect([...sha1.keys()].filter((p) => p.endsWith('BaseOS/x86_64/os/repodata/repomd.xml'))).toHaveLength(
        1,
      );
      const fullfilelist = (await readFile(join(mirror, tree, 'fullfilelist'), 'utf8'))
        .split('\n')
        .filter(Boolean);
      expect(fullfilelist.sort()).toEqual(files.map((f) => f.path).sort());
      expect(
        fullfilelist.filter((p) => !existsSync(join(mirror, tree, p)) && !isLink(join(mirror, tree, p))),
      ).toEqual([]);
    }
    expect(readFileSync(join(mirror, 'rocky', 'fullfiletimelist-rocky-linux'), 'utf8')).toBe(
      readFileSync(join(mirror, 'rocky', 'fullfiletimelist-rocky'), 'utf8'),
    );
  });

  it('gets into the file lists what a publish changed in place, as a full walk would', async () => {
    const categoryList = () => {
      const text = readFileSync(join(at().productionCategory, 'fullfiletimelist-rocky'), 'utf8');
      return text.split('\n').sort();
    };
    // A cache whose stamps are past the racy window: only the journal can make 8.10 be read again.
    await sleep(2100);
    await runOperation(fileLists, root, []);
    // Same bytes, new mtime: the file is renamed in from outside the tree (journaled as well).
    const composeId = join(at().stagingRelease, 'COMPOSE_ID');
    const stamp = new Date(Math.floor(statSync(composeId).mtimeMs / 1000) * 1000 + 86_400_000);
    await utimes(composeId, stamp, stamp);
    await publish();
    expect(statSync(join(at().productionRelease, 'COMPOSE_ID')).mtimeMs).toBe(stamp.getTime());

    const { result } = await runOperation(fileLists, root, []);
    const category = (result.trees as Array<{ walk: string; journaled?: number }>)[0]!;
    expect(category.walk).toBe('incremental');
    const incremental = categoryList();
    expect(incremental).toContain(`${stamp.getTime() / 1000}\tf\t27\t8.10/COMPOSE_ID`);
    await runOperation(fileLists, root, ['--full']);
    expect(incremental).toEqual(categoryList());
  });

  it('journals a package it replaces, so file-lists reads its directory again whatever inode it got', async () => {
    await sleep(2100);
    await runOperation(fileLists, root, []);
    const rel = readdirSync(join(at().stagingRelease, 'BaseOS/x86_64/os/Packages'), { recursive: true })
      .map(String)
      .find((p) => p.endsWith('.rpm'))!;
    const staged = join(at().stagingRelease, 'BaseOS/x86_64/os/Packages', rel);
    const stamp = new Date(Math.floor(statSync(staged).mtimeMs / 1000) * 1000 + 86_400_000);
    await utimes(staged, stamp, stamp);
    await publish();
    const published = join(at().productionRelease, 'BaseOS/x86_64/os/Packages', rel);
    const journal = join(root, 'mnt/repos-production/.releng/filelist-journal');
    expect(readFileSync(journal, 'utf8').split('\n')).toContain(published);
    await runOperation(fileLists, root, []);
    const list = readFileSync(join(at().productionCategory, 'fullfiletimelist-rocky'), 'utf8');
    const listed = relative(at().productionCategory, published);
    const line = list.split('\n').find((l) => l.endsWith(`\t${listed}`));
    expect(line?.startsWith(`${stamp.getTime() / 1000}\tf\t`), line).toBe(true);
  });

  it('refuses content other than the approved digest and leaves production untouched', async () => {
    const before = await snapshot(at().productionRelease);
    const digest = await approveStaged(root, set);
    await writeFile(
      join(at().stagingRelease, 'BaseOS/x86_64/os/.treeinfo'),
      '[general]\nfamily = tampered\n',
    );
    await expect(runOperation(syncToProd, root, publishArgs(digest), keyOverrides(set))).rejects.toThrow(
      /is not the approved content: its digest is [a-f0-9]{64}, the approval named [a-f0-9]{64} \(BaseOS\/x86_64\/os\/.treeinfo \(changed since verification\)\)/,
    );
    expect(await snapshot(at().productionRelease)).toBe(before);
    await writeFile(
      join(at().stagingRelease, 'BaseOS/x86_64/os/.treeinfo'),
      '[general]\nfamily = Rocky Linux\n',
    );
  });

  it('rollback refuses when no publish of the release is recorded', async () => {
    await expect(runOperation(rollback, root, ['--major', '8', '--revision', '8.9'])).rejects.toThrow(
      'rollback: no publish of 8.9 is recorded to roll back',
    );
  });

  it('refuses the beta and lookahead channels', async () => {
    for (const channel of ['beta', 'lh']) {
      await expect(
        runOperation(syncToProd, root, [
          '--major',
          '8',
          '--channel',
          channel,
          '--approved-digest',
          'a'.repeat(64),
        ]),
      ).rejects.toThrow(`sync-to-prod refuses the ${channel} channel`);
    }
  });

  it('rolls back to the earlier metadata byte for byte, and dnf reads it', async () => {
    const prod = at().productionRelease;
    const repomd = (repo: string) => readFileSync(join(prod, repo, 'repodata', 'repomd.xml'));
    const asc = (repo: string) => readFileSync(join(prod, repo, 'repodata', 'repomd.xml.asc'));
    const v1 = { repomd: repomd('BaseOS/x86_64/os'), asc: asc('BaseOS/x86_64/os') };
    await stage({ 'BaseOS/x86_64/os': ['hello-1.0-1.noarch', 'hello-1.1-1.noarch', 'tools-1.0-1.noarch'] });
    const { result } = await publish();
    expect(result.reposUpdated).toEqual(['BaseOS/x86_64/os']);
    expect(await dnfSees('BaseOS/x86_64/os', 'dnf-v2')).toEqual(['hello-1.0', 'hello-1.1', 'tools-1.0']);

    const rolledBack = await runOperation(rollback, root, RELEASE_8_10);
    expect(rolledBack.result.restored).toEqual(['BaseOS/x86_64/os/repodata']);
    expect(repomd('BaseOS/x86_64/os').equals(v1.repomd)).toBe(true);
    expect(asc('BaseOS/x86_64/os').equals(v1.asc)).toBe(true);
    expect(await repomdProblems(prod, set.key)).toEqual([]);
    expect(await dnfSees('BaseOS/x86_64/os', 'dnf-rolled-back')).toEqual(['hello-1.0', 'tools-1.0']);
    // The package stays: only metadata moved back.
    expect(existsSync(join(prod, 'BaseOS/x86_64/os/Packages/h/hello-1.1-1.noarch.rpm'))).toBe(true);
    // And the file lists were rewritten to name the restored repomd.xml.
    const { sha1 } = await readTimeList(join(at().productionCategory, 'fullfiletimelist-rocky'));
    expect(sha1.get('8.10/BaseOS/x86_64/os/repodata/repomd.xml')).toBe(createSha1(v1.repomd));
  });

  it('refuses a publish that hides most packages unless --allow-shrink gives a reason', async () => {
    const staging = at().stagingRelease;
    await rm(join(staging, 'BaseOS/x86_64/os/Packages/h'), { recursive: true });
    await writeRepo(set, join(staging, 'BaseOS/x86_64/os'), []);
    const before = await snapshot(at().productionRelease);
    await expect(publish()).rejects.toThrow(
      /BaseOS\/x86_64\/os would list 1 packages instead of 2.*--allow-shrink/,
    );
    expect(await snapshot(at().productionRelease)).toBe(before);
    const { result } = await publish(['--allow-shrink', 'hello moved to AppStream (test)']);
    expect(result.reposUpdated).toEqual(['BaseOS/x86_64/os']);
    expect((result.shrink as { allowedBecause: string }).allowedBecause).toBe(
      'hello moved to AppStream (test)',
    );
    expect(await dnfSees('BaseOS/x86_64/os', 'dnf-shrunk')).toEqual(['tools-1.0']);
  });

  it('keeps the metadata a superseded repomd.xml named for metadataGraceHours, then removes it', async () => {
    const repodata = join(at().productionRelease, 'BaseOS/x86_64/os/repodata');
    const files = () => readdirSync(repodata).filter((n) => !n.startsWith('repomd.xml'));
    const namedNow = (name: string) => readFileSync(join(repodata, 'repomd.xml'), 'utf8').includes(name);
    // The publishes above replaced the published repomd.xml: what it named is still there.
    const before = files();
    expect(before.filter((name) => !namedNow(name)).length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1100)); // a new second: a new repomd.xml
    await stage({ 'BaseOS/x86_64/os': ['hello-1.0-1.noarch', 'hello-1.1-1.noarch', 'tools-1.0-1.noarch'] });
    expect((await publish()).result.reposUpdated).toEqual(['BaseOS/x86_64/os']);
    // A mirror that fetched an earlier repomd.xml mid-sync still finds every file it names.
    for (const name of before) expect(files(), name).toContain(name);
    expect(await repomdProblems(at().productionRelease, set.key)).toEqual([]);

    await new Promise((r) => setTimeout(r, 1100));
    await stage({ 'BaseOS/x86_64/os': ['hello-1.0-1.noarch', 'tools-1.0-1.noarch'] });
    const digest = await approveStaged(root, set);
    await runOperation(syncToProd, root, publishArgs(digest), {
      ...keyOverrides(set),
      metadataGraceHours: 0,
    });
    // Past the grace period only what the published repomd.xml names is left.
    expect(files().filter((name) => !namedNow(name))).toEqual([]);
    expect(files().length).toBeGreaterThan(0);
  });

  it('gives a re-signed repomd.xml of the same size and second a later mtime, so plain rsync mirrors take it', async () => {
    const repo = 'BaseOS/x86_64/os/repodata';
    const prod = join(at().productionRelease, repo);
    const staged = join(at().stagingRelease, repo);
    const mirror = join(work, 'plain-rsync-mirror');
    const pull = () => execFile(['rsync', '-a', '--delete', `${at().productionRelease}/`, `${mirror}/`]);
    await pull();
    // The same repodata re-signed with another revision: same size, new bytes, same mtime.
    const old = readFileSync(join(prod, 'repomd.xml'), 'utf8');
    const changed = old.replace(/<revision>(\d*)(\d)<\/revision>/, (_, head, last) => {
      return `<revision>${head}${(Number(last) + 1) % 10}</revision>`;
    });
    expect(changed).not.toBe(old);
    await writeFile(join(staged, 'repomd.xml'), changed);
    await signRepomd(set.key, join(at().stagingRelease, 'BaseOS/x86_64/os'));
    for (const name of ['repomd.xml', 'repomd.xml.asc']) {
      const published = statSync(join(prod, name));
      await utimes(join(staged, name), published.atime, published.mtime);
    }
    expect(statSync(join(staged, 'repomd.xml')).size).toBe(statSync(join(prod, 'repomd.xml')).size);

    expect((await publish()).result.reposUpdated).toEqual(['BaseOS/x86_64/os']);
    const second = (dir: string) => Math.floor(statSync(join(dir, 'repomd.xml')).mtimeMs / 1000);
    expect(second(prod)).toBeGreaterThan(second(staged));
    await pull();
    expect(readFileSync(join(mirror, repo, 'repomd.xml'), 'utf8')).toBe(changed);
    expect(await repomdProblems(mirror, set.key)).toEqual([]);
    // A rerun leaves the published file, its later mtime included, alone.
    const before = await snapshot(at().productionRelease);
    expect((await publish()).result.reposUpdated).toEqual([]);
    expect(await snapshot(at().productionRelease)).toBe(before);
  });

  it('a rollback or file-lists run that lost the publish lock changes nothing mirrors read', async () => {
    await stage({ 'BaseOS/x86_64/os': ['hello-1.0-1.noarch', 'tools-1.0-1.noarch', 'devtool-1.0-1.noarch'] });
    expect((await publish()).result.reposUpdated).toEqual(['BaseOS/x86_64/os']);
    const stealAt = (step: RegExp) => losePublishLockAt(step, root, work);
    // What mirrors read: the served tree (the publish temp and state dirs are beside it).
    const served = join(at().production, 'mirror');
    const before = await snapshot(served);
    // Lost after the saved metadata was copied and checked, before it is renamed in.
    await expect(
      runOperation(rollback, root, RELEASE_8_10, keyOverrides(set), stealAt(/check \d+ copied file/)),
    ).rejects.toThrow(/lock publish was lost: token \d+ is no longer current/);
    expect(await snapshot(served)).toBe(before);
    // Lost while the lists are walked, before they replace the ones mirrors read.
    await expect(runOperation(fileLists, root, [], {}, stealAt(/write file lists/))).rejects.toThrow(
      /lock publish was lost/,
    );
    expect(await snapshot(served)).toBe(before);
    // Holding the lock again, both finish.
    expect((await runOperation(rollback, root, RELEASE_8_10)).result.restored).toEqual([
      'BaseOS/x86_64/os/repodata',
    ]);
    expect(await repomdProblems(at().productionRelease, set.key)).toEqual([]);
  });
});

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function createSha1(data: Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}
