import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksumsOf, fullWalk, ListDraft } from '../../host/filelist/create-filelist.ts';
import { RACY_NS } from '../../host/filelist/dir-cache.ts';
import { imageListText } from '../../host/filelist/imagelist.ts';
import { journalFile, markProductionDirty, productionStateDir } from '../../host/filelist/journal.ts';
import { type ListedTree, listedTrees } from '../../host/filelist/trees.ts';
import { createContext } from '../../host/framework/context.ts';
import { parseOperationArgs } from '../../host/framework/options.ts';
import { fileLists } from '../../host/operations/file-lists.ts';
import { buildConfig } from '../../shared/config/load.ts';
import { runOperation } from './run.ts';

/**
 * The incremental file-lists run (directory stamps, the racy rule, the dirty-path journal) must
 * write the lines a full walk writes, in any order. Every case changes the real tree the way a
 * publish or a person would, runs file-lists, and compares each tree's lists on disk with a full
 * walk of the same tree made apart (not committed, so it moves nothing the lists describe).
 */

interface TreeSummary {
  tree: string;
  walk: 'full' | 'incremental';
  reason?: string;
  dirs: number;
  reread?: number;
  racy?: number;
  journaled?: number;
  removed?: number;
  statted?: number;
}

const config = buildConfig();
let root: string;
let scratch: string;
let trees: ListedTree[];
const rocky = (rel = '') => join(root, 'mnt/repos-production/mirror/pub/rocky', rel);
const packages = (repo: string, dir: string) => rocky(`8.10/${repo}/x86_64/os/Packages/${dir}`);

async function runFileLists(args: string[] = []): Promise<TreeSummary[]> {
  const { result } = await runOperation(fileLists, root, args);
  return result.trees as TreeSummary[];
}

const summaryOf = (summaries: TreeSummary[], label: ListedTree['label']) =>
  summaries.find((s) => s.tree === trees.find((t) => t.label === label)!.dir)!;

const sha1Of = (text: string) => createHash('sha1').update(text).digest('hex');

/** A list as content: its [Files] lines sorted, the checksums section, fullfilelist sorted. */
function contentOf(timeList: string, fileList: string) {
  const files = timeList.indexOf('[Files]\n') + '[Files]\n'.length;
  const checksums = timeList.indexOf('\n[Checksums SHA1]\n');
  return {
    head: timeList.slice(0, files),
    files: timeList.slice(files, checksums).split('\n').filter(Boolean).sort(),
    checksums: timeList.slice(checksums),
    paths: fileList.split('\n').filter(Boolean).sort(),
  };
}

async function fullWalkContent(tree: ListedTree) {
  const draft = new ListDraft(scratch, tree);
  try {
    const scan = await fullWalk(tree.dir, draft);
    // The image list a full walk's directories give, and its checksum line.
    const images = tree.imageList ? await imageListText(tree.dir, scan.dirs.keys()) : undefined;
    const imageSum = images === undefined ? [] : [{ path: tree.imageList!, sha1: sha1Of(images) }];
    draft.finish([...checksumsOf(tree.dir, scan), ...imageSum]);
    return {
      ...contentOf(readFileSync(draft.timeList.path, 'utf8'), readFileSync(draft.fileList.path, 'utf8')),
      images,
    };
  } finally {
    await draft.discard();
  }
}

function contentOnDisk(tree: ListedTree) {
  const timeList = readFileSync(join(tree.dir, tree.timeList), 'utf8');
  for (const copy of tree.copies) expect(readFileSync(join(tree.dir, copy), 'utf8')).toBe(timeList);
  const images = tree.imageList ? readFileSync(join(tree.dir, tree.imageList), 'utf8') : undefined;
  return { ...contentOf(timeList, readFileSync(join(tree.dir, 'fullfilelist'), 'utf8')), images };
}

/** Runs file-lists and checks every tree came out incremental and equal to a full walk. */
async function expectIncrementalEqualsFull(): Promise<TreeSummary[]> {
  const summaries = await runFileLists();
  for (const summary of summaries) {
    expect(summary.walk, `${summary.tree}: ${summary.reason}`).toBe('incremental');
    // It reused lines: not every directory was read again.
    expect(summary.reread).toBeLessThan(summary.dirs);
  }
  for (const tree of trees) expect(contentOnDisk(tree), tree.label).toEqual(await fullWalkContent(tree));
  return summaries;
}

const lineOf = (tree: ListedTree, rel: string) =>
  readFileSync(join(tree.dir, tree.timeList), 'utf8')
    .split('\n')
    .find((line) => line.endsWith(`\t${rel}`));

const context = (dryRun = false) =>
  createContext({
    operation: 'sync-to-prod',
    config,
    root,
    dryRun,
    options: parseOperationArgs('sync-to-prod', [
      '--root',
      root,
      '--major',
      '8',
      '--approved-digest',
      'f'.repeat(64),
    ]),
    clock: { now: () => new Date() },
    progress: () => {},
  });

async function writeFiles(dir: string, names: string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const name of names) await writeFile(join(dir, name), `${name}\n`);
}

/** Replaced by rename, as createrepo and rsync do: a new inode, its directory's stamp moves. */
async function replace(path: string, content: string): Promise<void> {
  await writeFile(`${path}.new`, content);
  await rename(`${path}.new`, path);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'releng-filelists-incr-'));
  scratch = join(root, 'scratch');
  await mkdir(scratch);
  for (const repo of ['BaseOS', 'AppStream']) {
    for (const dir of ['a', 'b', 'c', 'k', 'z'])
      await writeFiles(packages(repo, dir), [`${dir}1-1.0.rpm`, `${dir}2-1.0.rpm`, `${dir}3-1.0.rpm`]);
    await writeFiles(join(packages(repo, 'z'), 'deeper'), ['zz-1.0.rpm']);
    await writeFiles(rocky(`8.10/${repo}/x86_64/os/repodata`), ['primary.xml.gz']);
    await writeFile(rocky(`8.10/${repo}/x86_64/os/repodata/repomd.xml`), `<repomd>${repo}</repomd>\n`);
  }
  await writeFiles(rocky('8.9/BaseOS/x86_64/os/Packages/a'), ['old-1.0.rpm']);
  await writeFile(rocky('8.10/COMPOSE_ID'), 'Rocky-8-20260101.0\n');
  await symlink('8.10', rocky('8'));
  await writeFiles(join(root, 'mnt/repos-production/mirror/pub/sig/8/kernel'), ['README']);
  trees = listedTrees(config, root);
  // Production trees are older than the racy window when file-lists stamps them.
  await sleep(Number(RACY_NS / 1_000_000n) + 100);
  const first = await runFileLists();
  expect(first.map((s) => [s.walk, s.reason])).toEqual(trees.map(() => ['full', 'no directory cache yet']));
}, 30_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('incremental file-lists equals a full walk', () => {
  it('after files are added', async () => {
    await writeFiles(packages('BaseOS', 'a'), ['a4-1.0.rpm', 'a5-1.0.rpm']);
    await expectIncrementalEqualsFull();
    expect(lineOf(trees[0]!, '8.10/BaseOS/x86_64/os/Packages/a/a5-1.0.rpm')).toBeDefined();
  });

  it('after files are removed', async () => {
    await rm(join(packages('BaseOS', 'b'), 'b2-1.0.rpm'));
    await expectIncrementalEqualsFull();
    expect(lineOf(trees[0]!, '8.10/BaseOS/x86_64/os/Packages/b/b2-1.0.rpm')).toBeUndefined();
  });

  it('after a directory is renamed', async () => {
    await rename(packages('BaseOS', 'c'), packages('BaseOS', 'c-renamed'));
    await expectIncrementalEqualsFull();
    expect(lineOf(trees[0]!, '8.10/BaseOS/x86_64/os/Packages/c/c1-1.0.rpm')).toBeUndefined();
    expect(lineOf(trees[0]!, '8.10/BaseOS/x86_64/os/Packages/c-renamed/c1-1.0.rpm')).toBeDefined();
  });

  it('after ISOs, links and cloud images appear, imagelist-rocky lists them and the time list names its SHA-1', async () => {
    const isos = rocky('8.10/isos/x86_64');
    await writeFiles(isos, ['Rocky-8.10-x86_64-dvd1.iso', 'Rocky-8.10-x86_64-dvd1.iso.manifest', 'CHECKSUM']);
    await symlink('Rocky-8.10-x86_64-dvd1.iso', join(isos, 'Rocky-x86_64-dvd.iso'));
    await writeFiles(rocky('8.10/images/x86_64'), [
      'Rocky-8-GenericCloud.latest.x86_64.qcow2',
      'Rocky-8-Vagrant-Libvirt.box',
    ]);
    // An .iso outside the images and isos trees is not an image of the release.
    await writeFiles(packages('BaseOS', 'k'), ['not-an-image.iso']);
    await expectIncrementalEqualsFull();
    const list = readFileSync(rocky('imagelist-rocky'), 'utf8');
    expect(list).toBe(
      [
        './8.10/images/x86_64/Rocky-8-GenericCloud.latest.x86_64.qcow2',
        './8.10/images/x86_64/Rocky-8-Vagrant-Libvirt.box',
        './8.10/isos/x86_64/Rocky-8.10-x86_64-dvd1.iso',
        './8.10/isos/x86_64/Rocky-x86_64-dvd.iso',
        '',
      ].join('\n'),
    );
    expect(contentOnDisk(trees[0]!).checksums).toContain(`${sha1Of(list)}\timagelist-rocky\n`);
    // The list itself is not listed, and it is named once in the checksums.
    expect(contentOnDisk(trees[0]!).files.filter((l) => l.includes('imagelist'))).toEqual([]);
    expect(contentOnDisk(trees[0]!).checksums.split('imagelist-rocky')).toHaveLength(2);
    expect(readFileSync(join(trees[0]!.dir, 'fullfilelist'), 'utf8')).not.toContain('imagelist');
    const stamp = statSync(rocky('imagelist-rocky')).mtimeMs;
    await expectIncrementalEqualsFull();
    expect(statSync(rocky('imagelist-rocky')).mtimeMs).toBe(stamp);
    await rm(rocky('8.10/images'), { recursive: true });
    await expectIncrementalEqualsFull();
    expect(readFileSync(rocky('imagelist-rocky'), 'utf8')).not.toContain('qcow2');
  });

  it('after a directory is removed with its contents', async () => {
    await rm(packages('AppStream', 'z'), { recursive: true });
    const summaries = await expectIncrementalEqualsFull();
    expect(summaryOf(summaries, 'category').removed).toBe(2);
  });

  it('after a new nested directory tree appears, repomd.xml included', async () => {
    const fresh = rocky('8.10/Devel/x86_64/os');
    await writeFiles(join(fresh, 'Packages/d/deep/er'), ['d1-1.0.rpm']);
    await mkdir(join(fresh, 'repodata'));
    await writeFile(join(fresh, 'repodata/repomd.xml'), '<repomd>Devel</repomd>\n');
    await expectIncrementalEqualsFull();
    const sha1 = createHash('sha1').update('<repomd>Devel</repomd>\n').digest('hex');
    expect(contentOnDisk(trees[0]!).checksums).toContain(
      `${sha1}\t8.10/Devel/x86_64/os/repodata/repomd.xml\n`,
    );
  });

  it('after a symlink is retargeted', async () => {
    await symlink('8.9', rocky('8.new'));
    await rename(rocky('8.new'), rocky('8'));
    await expectIncrementalEqualsFull();
  });

  it('after a repomd.xml is rewritten (by rename)', async () => {
    await replace(rocky('8.10/AppStream/x86_64/os/repodata/repomd.xml'), '<repomd>AppStream 2</repomd>\n');
    await expectIncrementalEqualsFull();
  });

  it('after files are changed in place, each with a journal entry written first', async () => {
    const file = join(packages('AppStream', 'k'), 'k1-1.0.rpm');
    const repomd = rocky('8.10/BaseOS/x86_64/os/repodata/repomd.xml');
    const dirBefore = statSync(packages('AppStream', 'k'), { bigint: true });
    await markProductionDirty(context(), [file, repomd]);
    // rsync --checksum fixing an mtime, and a write without rename: no directory stamp moves.
    await utimes(file, new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
    await writeFile(repomd, '<repomd>BaseOS, in place</repomd>\n');
    const dirAfter = statSync(packages('AppStream', 'k'), { bigint: true });
    expect([dirAfter.mtimeNs, dirAfter.ctimeNs]).toEqual([dirBefore.mtimeNs, dirBefore.ctimeNs]);

    const summaries = await expectIncrementalEqualsFull();
    expect(summaryOf(summaries, 'category').journaled).toBeGreaterThanOrEqual(1);
    expect(lineOf(trees[0]!, '8.10/AppStream/x86_64/os/Packages/k/k1-1.0.rpm')).toMatch(/^981173106\tf\t/);
    // The journal is emptied once every tree's lists are written.
    expect(readFileSync(journalFile(productionStateDir(config, root)), 'utf8')).toBe('');
  });

  it('misses a file changed in place without a journal entry until a full walk (the journal contract)', async () => {
    const rel = '8.10/AppStream/x86_64/os/Packages/b/b3-1.0.rpm';
    const before = lineOf(trees[0]!, rel);
    await utimes(rocky(rel), new Date('2002-03-04T05:06:07Z'), new Date('2002-03-04T05:06:07Z'));
    const summaries = await runFileLists();
    expect(summaryOf(summaries, 'category').walk).toBe('incremental');
    expect(lineOf(trees[0]!, rel)).toBe(before);
    expect(contentOnDisk(trees[0]!)).not.toEqual(await fullWalkContent(trees[0]!));

    const full = await runFileLists(['--full']);
    expect(full.map((s) => s.walk)).toEqual(trees.map(() => 'full'));
    expect(full[0]!.reason).toMatch(/--full/);
    expect(lineOf(trees[0]!, rel)).toMatch(/^1015218367\tf\t/);
    for (const tree of trees) expect(contentOnDisk(tree)).toEqual(await fullWalkContent(tree));
  });
});

describe('racy directory stamps', () => {
  it('a change right after a run, within the same second, is caught; the directory is read again until its stamp is old enough', async () => {
    const dir = packages('BaseOS', 'k');
    await writeFiles(dir, ['k4-1.0.rpm']);
    await expectIncrementalEqualsFull();
    await writeFiles(dir, ['k5-1.0.rpm']);
    await expectIncrementalEqualsFull();
    expect(lineOf(trees[0]!, '8.10/BaseOS/x86_64/os/Packages/k/k5-1.0.rpm')).toBeDefined();
    // Nothing changed since, yet the directory is read again: its times are within the racy
    // window of the last stamp, where a change could leave them as they are.
    const again = await expectIncrementalEqualsFull();
    expect(summaryOf(again, 'category').racy).toBeGreaterThanOrEqual(1);
  });
});

describe('file-lists walks the whole tree when the cache cannot be trusted', () => {
  const cacheFile = (label: string) =>
    join(productionStateDir(config, root), 'filelist-cache', `${label}.dirs`);

  async function expectFullWalk(reason: RegExp, label: ListedTree['label'] = 'category') {
    const summaries = await runFileLists();
    expect(summaryOf(summaries, label).walk).toBe('full');
    expect(summaryOf(summaries, label).reason).toMatch(reason);
    for (const tree of trees) expect(contentOnDisk(tree)).toEqual(await fullWalkContent(tree));
  }

  it('a missing cache', async () => {
    await rm(cacheFile('category'));
    await writeFiles(packages('BaseOS', 'a'), ['a6-1.0.rpm']);
    await expectFullWalk(/no directory cache yet/);
  });

  it('a corrupt cache, and a truncated one', async () => {
    await writeFile(cacheFile('sig'), 'not a cache\n');
    await expectFullWalk(/directory cache unreadable/, 'sig');
    const text = await readFile(cacheFile('category'), 'utf8');
    await writeFile(cacheFile('category'), text.slice(0, text.lastIndexOf('\n', text.length - 2) + 1));
    await expectFullWalk(/directory cache unreadable \(truncated\)/);
  });

  it('a time list edited by hand: the edit is gone afterwards', async () => {
    const list = rocky('fullfiletimelist-rocky');
    const text = await readFile(list, 'utf8');
    await writeFile(list, text.replace(/^\d+(\tf\t\d+\t8\.10\/COMPOSE_ID)$/m, '1$1'));
    expect(lineOf(trees[0]!, '8.10/COMPOSE_ID')).toMatch(/^1\t/);
    await expectFullWalk(/not the one the directory cache describes/);
    expect(lineOf(trees[0]!, '8.10/COMPOSE_ID')).not.toMatch(/^1\t/);
  });

  it('a last full walk more than 24 h ago', async () => {
    const text = await readFile(cacheFile('category'), 'utf8');
    const dayAgo = new Date(Date.now() - 25 * 3600 * 1000).toISOString();
    await writeFile(cacheFile('category'), text.replace(/^full-walk-at\t.*$/m, `full-walk-at\t${dayAgo}`));
    await expectFullWalk(/the last full walk was at/);
    // ... and the next run starts from the fresh cache again.
    await expectIncrementalEqualsFull();
  });
});

describe('a rerun and the journal', () => {
  it('once its stamps are past the racy window, a run with nothing changed reads no directory again and keeps every line', async () => {
    // Racy stamps of the last run (taken within 2 s of a change) are read once more and retaken.
    await sleep(Number(RACY_NS / 1_000_000n) + 100);
    await runFileLists();
    const summaries = await runFileLists();
    expect(
      trees.map((t) => [summaryOf(summaries, t.label).walk, summaryOf(summaries, t.label).reread]),
    ).toEqual(trees.map(() => ['incremental', 0]));
    for (const tree of trees) expect(contentOnDisk(tree)).toEqual(await fullWalkContent(tree));
  });

  it('a rerun with nothing changed leaves every list as it is (same inode), whatever order it was written in', async () => {
    await runFileLists();
    const inodes = () => trees.map((t) => statSync(join(t.dir, t.timeList)).ino);
    const before = inodes();
    await runFileLists();
    expect(inodes()).toEqual(before);
  });

  it('markProductionDirty writes nothing in a dry run and refuses relative paths', async () => {
    const journal = journalFile(productionStateDir(config, root));
    await rm(journal, { force: true });
    await markProductionDirty(context(true), [rocky('8.10/COMPOSE_ID')]);
    expect(existsSync(journal)).toBe(false);
    await expect(markProductionDirty(context(), ['rocky/8.10/COMPOSE_ID'])).rejects.toThrow(
      /not an absolute/,
    );
  });

  it('a journal entry through a symlink marks the directory it resolves to', async () => {
    await symlink('8.10', rocky('8.new'));
    await rename(rocky('8.new'), rocky('8'));
    await runFileLists();
    const rel = '8.10/BaseOS/x86_64/os/Packages/z/z1-1.0.rpm';
    await markProductionDirty(context(), [rocky('8/BaseOS/x86_64/os/Packages/z/z1-1.0.rpm')]);
    await utimes(rocky(rel), new Date('2003-01-01T00:00:00Z'), new Date('2003-01-01T00:00:00Z'));
    const summaries = await expectIncrementalEqualsFull();
    expect(summaryOf(summaries, 'category').journaled).toBe(1);
    expect(lineOf(trees[0]!, rel)).toMatch(/^1041379200\tf\t/);
  });
});

describe('a list longer than the read and write buffers (1 MiB)', () => {
  it('keeps and replaces lines across buffer boundaries as a full walk would', async () => {
    const big = (d: number) => rocky(`8.10/Big/x86_64/os/Packages/d${d}`);
    const names = (d: number, from: number, count: number) =>
      Array.from(
        { length: count },
        (_, i) => `a-package-with-a-long-name-${d}-${from + i}-1.0-1.el8.x86_64.rpm`,
      );
    for (let d = 0; d < 16; d++) await writeFiles(big(d), names(d, 0, 1000));
    await runFileLists();
    await sleep(Number(RACY_NS / 1_000_000n) + 100);
    await runFileLists();
    expect(statSync(rocky('fullfiletimelist-rocky')).size).toBeGreaterThan(1.5 * 2 ** 20);
    await writeFiles(big(3), names(3, 1000, 50));
    await rm(join(big(11), names(11, 0, 1)[0]!));
    await rename(big(14), `${big(14)}-moved`);
    const summaries = await expectIncrementalEqualsFull();
    expect(summaryOf(summaries, 'category').reread).toBeLessThan(10);
    // The suite's timeout: writing 16,000 files beside two other test files can take over 30 s.
  });
});

describe('what an incremental run reads', () => {
  it('a directory whose stamp moved lstats only its new names and those replaced by rename (a new inode)', async () => {
    // Past the racy window: the directories' stamps are older than the last run's.
    await runFileLists();
    await sleep(Number(RACY_NS / 1_000_000n) + 100);
    await runFileLists();
    const dir = packages('AppStream', 'a');
    const replaced = join(dir, 'a1-1.0.rpm');
    // Same size, another mtime: only a fresh lstat of the new inode gives its line.
    await writeFile(`${replaced}.new`, readFileSync(replaced));
    await utimes(`${replaced}.new`, new Date('2004-05-06T07:08:09Z'), new Date('2004-05-06T07:08:09Z'));
    await rename(`${replaced}.new`, replaced);
    await writeFiles(dir, ['a9-1.0.rpm']);
    const summaries = await expectIncrementalEqualsFull();
    expect(lineOf(trees[0]!, '8.10/AppStream/x86_64/os/Packages/a/a1-1.0.rpm')).toMatch(/^1083827289\tf\t/);
    // a1 and a9; a2, a3 and every entry of the category's top directory kept their lines.
    expect(summaryOf(summaries, 'category').statted).toBe(2);
  });

  it('a rerun within the racy window, every line read again in another order, leaves the lists as they are', async () => {
    await writeFiles(packages('BaseOS', 'k'), ['k8-1.0.rpm']);
    // Lists rewritten, then the top directory's stamp moved by that, then taken again.
    for (let run = 0; run < 3; run++) await runFileLists();
    const inodes = () => trees.map((t) => statSync(join(t.dir, t.timeList)).ino);
    const before = inodes();
    // The category's top directory, where the lists were just renamed in, is racy now: its
    // entries are read again and their lines written after the kept ones.
    const summaries = await runFileLists();
    expect(summaryOf(summaries, 'category').racy).toBeGreaterThanOrEqual(1);
    expect(summaryOf(summaries, 'category').statted).toBeGreaterThanOrEqual(3);
    expect(inodes()).toEqual(before);
    for (const tree of trees) expect(contentOnDisk(tree), tree.label).toEqual(await fullWalkContent(tree));
  });

  it('the root list takes the category and SIG lines from their fresh lists: the root walks only its own directories', async () => {
    await writeFiles(packages('BaseOS', 'k'), ['k9-1.0.rpm']);
    const summaries = await expectIncrementalEqualsFull();
    expect(lineOf(trees[1]!, 'rocky/8.10/BaseOS/x86_64/os/Packages/k/k9-1.0.rpm')).toBeDefined();
    // mirror/pub itself, rocky and sig: nothing under the nested trees is stamped or read.
    expect(summaryOf(summaries, 'root').dirs).toBe(3);
    const full = await runFileLists(['--full']);
    expect(summaryOf(full, 'root').dirs).toBe(3);
    for (const tree of trees) expect(contentOnDisk(tree), tree.label).toEqual(await fullWalkContent(tree));
  });
});

describe('a tree reached through a symlink', () => {
  it('is stamped through the link, so the next run is incremental too', async () => {
    const other = await mkdtemp(join(tmpdir(), 'releng-filelists-link-'));
    try {
      const pub = join(other, 'mnt/repos-production/mirror/pub');
      await writeFiles(join(pub, 'rocky-real/8.10/BaseOS'), ['COMPOSE_ID']);
      await symlink('rocky-real', join(pub, 'rocky'));
      await runOperation(fileLists, other, []);
      const { result } = await runOperation(fileLists, other, []);
      const [category] = result.trees as TreeSummary[];
      expect(category!.tree).toBe(join(pub, 'rocky'));
      expect(category!.walk, category!.reason).toBe('incremental');
      // A category reached through a symlink is walked as the root finds it, not copied in.
      const [, rootTree] = listedTrees(config, other);
      expect(contentOnDisk(rootTree!)).toEqual(await fullWalkContent(rootTree!));
      expect(readFileSync(join(pub, 'fullfilelist'), 'utf8')).toContain(
        'rocky-real/8.10/BaseOS/COMPOSE_ID\n',
      );
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
