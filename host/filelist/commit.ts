import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chown, link, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../../shared/errors.ts';
import type { TreeListNames } from './format.ts';
import { type ListDraft, type ListFacts, tempIn } from './list-draft.ts';

const READ_CHUNK = 1 << 20;

async function sha1File(path: string): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const statOf = (path: string) => stat(path).catch(() => undefined);

/** Digests of a time list and its fullfilelist. */
export interface ListDigests {
  listSha1: string;
  pathsSha1: string;
}

/**
 * True when the lists on disk hold `want`: sizes first (when known), then digests; `onDiskSha1`
 * is the on-disk time list's when the walk already read it. Copies that are links to the time
 * list need no reading.
 */
async function listsOnDiskAre(
  tree: string,
  names: TreeListNames,
  want: ListDigests & { sizes?: { list: number; paths: number } },
  onDiskSha1: string | undefined,
): Promise<boolean> {
  const target = (name: string) => join(tree, name);
  const [time, files, ...copies] = await Promise.all(
    [names.timeList, 'fullfilelist', ...names.copies].map((name) => statOf(target(name))),
  );
  if (!time || !files || copies.some((copy) => copy?.size !== time.size)) return false;
  if (want.sizes && (time.size !== want.sizes.list || files.size !== want.sizes.paths)) return false;
  if ((onDiskSha1 ?? (await sha1File(target(names.timeList)))) !== want.listSha1) return false;
  if ((await sha1File(target('fullfilelist'))) !== want.pathsSha1) return false;
  for (const [i, copy] of copies.entries()) {
    if (copy!.ino === time.ino && copy!.dev === time.dev) continue;
    if ((await sha1File(target(names.copies[i]!))) !== want.listSha1) return false;
  }
  return true;
}

export interface CommitOptions {
  owner?: { uid: number; gid: number };
  /** Where the links are made before being renamed in (outside every listed tree). */
  tempDir: string;
  /** SHA-1 of the time list on disk, when the walk already read it. */
  onDiskSha1?: string;
  /**
   * The lists on disk (these digests) hold the draft's lines in another order: they stay as
   * they are if they still go together.
   */
  sameContentAs?: ListDigests;
}

/**
 * Puts a finished draft in place: copies and `-old` are hard links renamed into place, the time
 * list goes last. Readers see the old list or the new one, never a truncated one. Lists whose
 * content did not change are left alone, so a rerun changes nothing. Returns the names written
 * and the digests of the lists now on disk.
 */
export async function commitLists(
  tree: string,
  names: TreeListNames,
  draft: ListDraft,
  facts: { timeList: ListFacts; fileList: ListFacts },
  options: CommitOptions,
): Promise<ListDigests & { written: string[] }> {
  const { owner, tempDir, sameContentAs } = options;
  const drafted = { listSha1: facts.timeList.sha1, pathsSha1: facts.fileList.sha1 };
  if (sameContentAs && (await listsOnDiskAre(tree, names, sameContentAs, options.onDiskSha1)))
    return { ...sameContentAs, written: [] };
  const sizes = { list: facts.timeList.size, paths: facts.fileList.size };
  if (await listsOnDiskAre(tree, names, { ...drafted, sizes }, options.onDiskSha1))
    return { ...drafted, written: [] };
  const fileListTmp = draft.fileList.path;
  const timeListTmp = draft.timeList.path;
  if (owner) await Promise.all([fileListTmp, timeListTmp].map((t) => chown(t, owner.uid, owner.gid)));
  const written: string[] = [];
  const target = (name: string) => join(tree, name);
  const temps: string[] = [];
  try {
    // The previous list stays readable as -old (a link: no copy, and atomic by rename).
    const oldTmp = tempIn(tempDir, `${names.timeList}-old`);
    temps.push(oldTmp);
    try {
      await link(target(names.timeList), oldTmp);
      await rename(oldTmp, target(`${names.timeList}-old`));
      written.push(`${names.timeList}-old`);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    for (const copy of names.copies) {
      const copyTmp = tempIn(tempDir, copy);
      temps.push(copyTmp);
      await link(timeListTmp, copyTmp);
      await rename(copyTmp, target(copy));
      written.push(copy);
    }
    await rename(fileListTmp, target('fullfilelist'));
    // The time list is what mirrors poll: it goes in last.
    await rename(timeListTmp, target(names.timeList));
    written.push('fullfilelist', names.timeList);
    return { ...drafted, written };
  } finally {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
  }
}
