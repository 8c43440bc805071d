import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from '../../host/framework/exec.ts';
import { diffTrees, repoDirsOf } from '../../host/publish/tree-diff.ts';
import { walkTree } from '../../host/repo/tree-walk.ts';
import { findRepoDirs } from '../../host/repo/walk.ts';

let work: string;
let staging: string;
let production: string;

const T0 = 1_700_000_000;

/** A file with fixed bytes and mtime, in staging or production or both. */
async function put(root: string, path: string, content: string, mtime = T0): Promise<void> {
  const file = join(root, path);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, content);
  await utimes(file, mtime, mtime);
}
async function both(path: string, content: string): Promise<void> {
  await put(staging, path, content);
  await put(production, path, content);
}

/**
 * What rsync itself decides for the packages pass: its dry run with --delete and the excludes
 * the pass used before the walks replaced it. Copies and deletes by path ('.d' items, a dir's
 * own attributes, are not the pass's work).
 */
async function rsyncDecides(): Promise<string[]> {
  const { stdout } = await execFile([
    'rsync',
    '-a',
    '--dry-run',
    '--delete',
    '--out-format=%i\t%n',
    '--exclude=repodata/',
    '--exclude=.repodata/',
    '--exclude=.~tmp~/',
    '--exclude=/COMPOSE_ID',
    '--exclude=/metadata/',
    `${staging}/`,
    `${production}/`,
  ]);
  return stdout
    .split('\n')
    .filter((l) => l && !l.startsWith('.d'))
    .map((l) => (l.startsWith('*deleting') ? `delete ${l.split(/\s+/).at(-1)}` : `copy ${l.split('\t')[1]}`))
    .sort();
}

async function walksDecide(): Promise<string[]> {
  const { changes } = diffTrees(await walkTree(staging), await walkTree(production));
  return changes.map((c) => `${c.item === '*deleting' ? 'delete' : 'copy'} ${c.path}`).sort();
}

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'releng-tree-diff-'));
  staging = join(work, 'staging');
  production = join(work, 'production');
  await both('BaseOS/x86_64/os/Packages/a/a-1.rpm', 'a1');
  await both('BaseOS/x86_64/os/Packages/b/b-1.rpm', 'b1');
  await both('BaseOS/x86_64/os/repodata/repomd.xml', '<repomd/>');
  await both('BaseOS/x86_64/os/.treeinfo', '[tree]');
  await both('COMPOSE_ID', 'Rocky-8-1');
  await both('metadata/composeinfo.json', '{}');
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('diffTrees: the packages pass change list from two walks', () => {
  it('lists what an unchanged pair of trees needs: nothing, as rsync', async () => {
    expect(await walksDecide()).toEqual([]);
    expect(await rsyncDecides()).toEqual([]);
  });

  it('decides every kind of change as rsync -a --delete with the pass excludes', async () => {
    await put(staging, 'BaseOS/x86_64/os/Packages/c/c-1.rpm', 'new'); // new file in a new dir
    await put(staging, 'BaseOS/x86_64/os/Packages/a/a-1.rpm', 'a1-rebuilt'); // size changed
    await put(staging, 'BaseOS/x86_64/os/Packages/b/b-1.rpm', 'b2', T0 + 60); // same size, mtime
    await put(staging, 'BaseOS/x86_64/os/Packages/b/subsecond.rpm', 's', T0 + 0.25); // not a change
    await put(production, 'BaseOS/x86_64/os/Packages/b/subsecond.rpm', 's', T0 + 0.75);
    await both('BaseOS/x86_64/os/Packages/b/mode.rpm', 'm');
    await chmod(join(staging, 'BaseOS/x86_64/os/Packages/b/mode.rpm'), 0o600); // mode only
    await put(production, 'BaseOS/x86_64/os/Packages/a/gone.rpm', 'old'); // deleted file
    await put(production, 'AppStream/x86_64/os/Packages/z/z.rpm', 'old'); // deleted tree
    await put(staging, 'BaseOS/x86_64/os/images/boot.iso', 'iso'); // file where prod has a dir
    await put(production, 'BaseOS/x86_64/os/images/boot.iso/stale', 'x');
    await put(staging, 'BaseOS/x86_64/os/EFI/BOOT/grub.cfg', 'cfg'); // dir where prod has a file
    await put(production, 'BaseOS/x86_64/os/EFI', 'stale file');
    await symlink('BaseOS', join(staging, 'baseos')); // new top-level link
    await symlink('x86_64', join(staging, 'BaseOS/arch'));
    await symlink('aarch64', join(production, 'BaseOS/arch')); // link target changed
    // Excluded: new and removed metadata, COMPOSE_ID, metadata/, temp dirs anywhere.
    await put(staging, 'BaseOS/x86_64/os/repodata/new-primary.xml.gz', 'p');
    await put(production, 'BaseOS/x86_64/os/repodata/old-primary.xml.gz', 'p');
    await put(staging, 'COMPOSE_ID', 'Rocky-8-2-longer');
    await put(staging, 'metadata/rpms.json', '{}');
    await put(production, 'BaseOS/.~tmp~/partial', 'x');
    await put(staging, 'BaseOS/x86_64/os/Packages/.repodata/x', 'x');
    // Not excluded: a file named like an excluded dir, metadata below the top.
    await put(staging, 'BaseOS/x86_64/os/Packages/a/repodata', 'a file');
    await put(staging, 'BaseOS/metadata/x.json', '{}');

    const ours = await walksDecide();
    expect(ours).toEqual(await rsyncDecides());
    expect(ours).toContain('copy BaseOS/x86_64/os/Packages/b/mode.rpm');
    expect(ours).toContain('delete AppStream/');
    expect(ours).toContain('delete BaseOS/x86_64/os/images/boot.iso/stale');
    expect(ours).not.toContain('copy COMPOSE_ID');
    expect(ours).not.toContain('copy BaseOS/x86_64/os/Packages/b/subsecond.rpm');
  });

  it('counts staged regular files outside the excludes and keeps the replaced size for the guard', async () => {
    await put(staging, 'BaseOS/x86_64/os/Packages/a/a-1.rpm', 'a');
    const { changes, stagingFiles } = diffTrees(await walkTree(staging), await walkTree(production));
    expect(stagingFiles).toBe(3); // a-1, b-1, .treeinfo: not repodata, COMPOSE_ID or metadata/
    expect(changes).toEqual([
      { item: '>f.st......', path: 'BaseOS/x86_64/os/Packages/a/a-1.rpm', size: 1, previousSize: 2 },
    ]);
  });

  it('lists a file whose owner differs from the one the publish sets', async () => {
    const owner = '10004:10005';
    const walk = await walkTree(staging);
    const listed = diffTrees(walk, await walkTree(production), owner).changes.map((c) => c.path);
    // Every file and link in production is owned by whoever ran this test, not 10004:10005.
    expect(listed).toContain('BaseOS/x86_64/os/Packages/a/a-1.rpm');
    expect(diffTrees(walk, await walkTree(production)).changes).toEqual([]);
  });
});

describe('repoDirsOf', () => {
  it('finds the repos findRepoDirs finds, from the walk', async () => {
    await put(staging, 'AppStream/source/tree/repodata/repomd.xml', '<repomd/>');
    await put(staging, 'repodata/repomd.xml', '<repomd/>');
    await put(staging, 'BaseOS/x86_64/os/Packages/x/repodata/repomd.xml', 'not a repo');
    await put(staging, 'BaseOS/x86_64/os/repodata/repodata/repomd.xml', 'not a repo');
    await put(staging, 'Extras/x86_64/os/repodata/other.xml', 'no repomd');
    await symlink('BaseOS', join(staging, 'baseos'));
    const found = repoDirsOf(await walkTree(staging));
    expect(found).toEqual(['.', 'AppStream/source/tree', 'BaseOS/x86_64/os']);
    expect(found).toEqual(await findRepoDirs(staging));
  });
});
