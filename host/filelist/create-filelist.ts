import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { chown, link, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';

/**
 * quick-fedora-mirror's `create-filelist` output, written while the tree is walked:
 *
 *   [Version]
 *   2
 *
 *   [Files]
 *   <mtime>\t<f|d|l>\t<size>\t<relative path>
 *
 *   [Checksums SHA1]
 *   <sha1>\t<relative path of a repomd.xml>
 *
 *   [End]
 *
 * mtime is st_mtime in whole seconds and size st_size of the entry itself (lstat: a link's own
 * size), which is what rsync preserves on the mirror, so a client can compare its copy with the
 * list. `fullfilelist` holds the same paths, one a line.
 */
export const FILELIST_VERSION = 2;

/** rsync --delay-updates holding dirs: a publish in progress (or killed), never content. */
const RSYNC_TEMP = '.~tmp~';

/** Names the lists themselves use: never listed, so a list does not describe itself. */
const OWN_FILES = /^\.?(fullfilelist|fullfiletimelist|imagelist)/;

export interface TreeListNames {
  /** `fullfiletimelist-rocky` */
  timeList: string;
  /** Same content under other names mirrors poll: `fullfiletimelist`, `fullfiletimelist-rocky-linux`. */
  copies: string[];
}

export interface TreeListResult {
  tree: string;
  entries: number;
  repomdFiles: number;
  written: string[];
}

/** Writes to a hidden temp name beside `path`; `commit` renames it into place. */
function tempBeside(dir: string, name: string): string {
  return join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
}

async function closeStream(stream: WriteStream): Promise<void> {
  stream.end();
  await finished(stream);
}

/**
 * Streams `find`'s records (lstat data, NUL-terminated so any file name is safe) through a
 * callback. find is the fastest walker on the machine and keeps our memory flat.
 */
async function walk(tree: string, onRecord: (record: string) => boolean): Promise<void> {
  // %T@ (seconds.fraction) rather than %Ts: find formats %Ts through strftime, three times slower.
  const child = spawn('find', ['.', '-mindepth', '1', '-printf', '%T@\t%y\t%s\t%P\\0'], {
    cwd: tree,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  let rest = '';
  for await (const chunk of child.stdout) {
    const records = (rest + (chunk as Buffer).toString('utf8')).split('\0');
    rest = records.pop()!;
    for (const record of records) {
      // Back-pressure: wait until the list files drain before reading more.
      if (!onRecord(record)) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  const code = await exited;
  if (code !== 0)
    throw new Error(`find in ${tree} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
}

/** st_mtime's whole seconds from find's `%T@` (`1764240000.1234567890`), as `%Ts` prints them. */
export function wholeSeconds(stamp: string): string {
  const dot = stamp.indexOf('.');
  if (dot < 0) return stamp;
  const seconds = stamp.slice(0, dot);
  // Before 1970 the fraction counts up from the next lower second (tv_sec is floored).
  return stamp.startsWith('-') && /[1-9]/.test(stamp.slice(dot + 1)) ? String(Number(seconds) - 1) : seconds;
}

async function sha1File(path: string): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** True when every `path` exists with the content of `reference`: a list that did not change. */
async function sameLists(reference: string, paths: string[]): Promise<boolean> {
  const [want, ...sizes] = await Promise.all(
    [reference, ...paths].map((p) =>
      stat(p).then(
        (s) => s.size,
        () => -1,
      ),
    ),
  );
  if (sizes.some((size) => size !== want)) return false;
  const sum = await sha1File(reference);
  for (const path of paths) if ((await sha1File(path)) !== sum) return false;
  return true;
}

/**
 * Writes `fullfilelist` and the time list of one tree, each to a temp name renamed into place,
 * keeping the previous time list as `<timeList>-old`. Readers see the old list or the new one,
 * never a truncated one. Temp files go to `tempDir` (same file system, outside every listed
 * tree) so that writing one tree's lists does not move the mtime of a directory another tree's
 * list names; lists whose content did not change are left alone, so a rerun changes nothing.
 */
export async function writeTreeLists(
  tree: string,
  names: TreeListNames,
  owner?: { uid: number; gid: number },
  tempDir = tree,
): Promise<TreeListResult> {
  const fileListTmp = tempBeside(tempDir, 'fullfilelist');
  const timeListTmp = tempBeside(tempDir, names.timeList);
  const fileList = createWriteStream(fileListTmp);
  const timeList = createWriteStream(timeListTmp);
  const temps = [fileListTmp, timeListTmp];
  try {
    timeList.write(`[Version]\n${FILELIST_VERSION}\n\n[Files]\n`);
    const repomds: string[] = [];
    let entries = 0;
    await walk(tree, (record) => {
      const [, type, , path] = record.split('\t', 4) as [string, string, string, string];
      const base = path.slice(path.lastIndexOf('/') + 1);
      // Only files, dirs and links are mirrored; names with a newline cannot be listed.
      if ((type !== 'f' && type !== 'd' && type !== 'l') || path.includes('\n')) return true;
      if (OWN_FILES.test(base) || path.includes(RSYNC_TEMP)) return true;
      entries++;
      if (type === 'f' && base === 'repomd.xml') repomds.push(path);
      const a = fileList.write(`${path}\n`);
      const tab = record.indexOf('\t');
      const b = timeList.write(`${wholeSeconds(record.slice(0, tab))}${record.slice(tab)}\n`);
      return a && b;
    });
    timeList.write('\n[Checksums SHA1]\n');
    repomds.sort();
    for (const path of repomds) timeList.write(`${await sha1File(join(tree, path))}\t${path}\n`);
    timeList.write('\n[End]\n');
    await Promise.all([closeStream(fileList), closeStream(timeList)]);
    if (owner) await Promise.all([fileListTmp, timeListTmp].map((t) => chown(t, owner.uid, owner.gid)));

    const written: string[] = [];
    const target = (name: string) => join(tree, name);
    const unchanged =
      (await sameLists(fileListTmp, [target('fullfilelist')])) &&
      (await sameLists(timeListTmp, [names.timeList, ...names.copies].map(target)));
    if (unchanged) return { tree, entries, repomdFiles: repomds.length, written };
    // The previous list stays readable as -old (a link: no copy, and atomic by rename).
    const oldTmp = tempBeside(tempDir, `${names.timeList}-old`);
    temps.push(oldTmp);
    try {
      await link(target(names.timeList), oldTmp);
      await rename(oldTmp, target(`${names.timeList}-old`));
      written.push(`${names.timeList}-old`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const copy of names.copies) {
      const copyTmp = tempBeside(tempDir, copy);
      temps.push(copyTmp);
      await link(timeListTmp, copyTmp);
      await rename(copyTmp, target(copy));
      written.push(copy);
    }
    await rename(fileListTmp, target('fullfilelist'));
    // The time list is what mirrors poll: it goes in last.
    await rename(timeListTmp, target(names.timeList));
    written.push('fullfilelist', names.timeList);
    return { tree, entries, repomdFiles: repomds.length, written };
  } finally {
    fileList.destroy();
    timeList.destroy();
    await Promise.all(temps.map((t) => rm(t, { force: true })));
  }
}
