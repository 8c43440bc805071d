import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { lstat, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorMessage, isErrno } from '../../shared/errors.ts';

/**
 * The directory cache an incremental file-lists run starts from: for every directory of a tree,
 * the inode stamp it had when its entries were read. Adding, removing or renaming an entry moves
 * its directory's mtime and ctime, so a directory whose stamp did not move still holds the same
 * names, and the previous list's lines for them can be reused.
 */
export interface DirStamp {
  dev: string;
  ino: string;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export interface DirCache {
  /** SHA-1 of the time list the stamps describe: any other list on disk makes the cache useless. */
  listSha1: string;
  /** SHA-1 of the fullfilelist written with it. */
  pathsSha1: string;
  /** When the tree was last walked whole; the stamps of an incremental run carry it over. */
  fullWalkAt: Date;
  /** The file system's clock just before the first stamp was taken (see isRacy). */
  stampedAtNs: bigint;
  /** Tree-relative path ('' is the tree itself) to stamp, every parent before its children. */
  dirs: Map<string, DirStamp>;
  /** Each directory's files and links as `ino\tname` lines (none: no entry), see TreeScan. */
  entries: Map<string, string>;
  /** Nested trees whose lines the list holds under their path: path to the SHA-1 of their time list. */
  nested: Map<string, string>;
}

/** A full walk at least this often: the only thing that sees a change made by hand in place. */
export const FULL_WALK_EVERY_MS = 24 * 3600 * 1000;

/**
 * Git's "racy git": a change made in the same clock tick as the stamp (1 s on some file systems,
 * a server's clock on NFS) may leave mtime and ctime as they were. A directory whose times are
 * this close to the moment its stamp was taken counts as changed on the next run.
 */
export const RACY_NS = 2_000_000_000n;

const MAGIC = 'releng-filelist-dirs\t2';

export function stampOf(info: BigIntStats): DirStamp {
  return { dev: String(info.dev), ino: String(info.ino), mtimeNs: info.mtimeNs, ctimeNs: info.ctimeNs };
}

export function sameStamp(a: DirStamp, b: DirStamp): boolean {
  return a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.dev === b.dev;
}

export function isRacy(stamp: DirStamp, stampedAtNs: bigint): boolean {
  const edge = stampedAtNs - RACY_NS;
  return stamp.mtimeNs >= edge || stamp.ctimeNs >= edge;
}

/**
 * Now, by the clock of the file system under `dir` (a probe file's ctime): directory times come
 * from that clock, which on NFS is the server's, not this host's.
 */
export async function fileSystemNow(dir: string): Promise<bigint> {
  const probe = join(dir, `.now.${randomBytes(6).toString('hex')}`);
  await writeFile(probe, '');
  try {
    return (await lstat(probe, { bigint: true })).ctimeNs;
  } finally {
    await rm(probe, { force: true });
  }
}

type CacheLoad = { cache: DirCache } | { problem: string };

/** Reads a cache; a missing or malformed one is a problem to name, never an error. */
export async function readDirCache(file: string): Promise<CacheLoad> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { problem: 'no directory cache yet' };
    throw err;
  }
  try {
    return { cache: parseDirCache(text) };
  } catch (err) {
    return { problem: `directory cache unreadable (${errorMessage(err)})` };
  }
}

function headerValue(line: string | undefined, key: string): string {
  if (!line?.startsWith(`${key}\t`)) throw new Error(`expected ${key}`);
  return line.slice(key.length + 1);
}

/** Reads a text line by line without splitting all of it (entry blocks are mostly skipped). */
class LineCursor {
  private at = 0;
  constructor(private readonly text: string) {}

  next(): string {
    const nl = this.text.indexOf('\n', this.at);
    if (nl < 0) throw new Error('truncated');
    const line = this.text.slice(this.at, nl);
    this.at = nl + 1;
    return line;
  }

  /** The next `count` lines as they are, newlines included. */
  block(count: number): string {
    const from = this.at;
    for (let i = 0; i < count; i++) {
      const nl = this.text.indexOf('\n', this.at);
      if (nl < 0) throw new Error('truncated');
      this.at = nl + 1;
    }
    return this.text.slice(from, this.at);
  }

  get done(): boolean {
    return this.at === this.text.length;
  }
}

/**
 * Tab-separated lines: a header (`key\tvalue`; `nested\tsha1\tpath` per nested tree), an empty
 * line, one directory a line as `dev\tino\tmtime_ns\tctime_ns\tentries\tpath` (path last
 * because a name may hold a tab), then each directory's `entries` lines `ino\tname`, in order.
 */
function parseDirCache(text: string): DirCache {
  const lines = new LineCursor(text);
  if (lines.next() !== MAGIC) throw new Error('not a directory cache of this version');
  const listSha1 = headerValue(lines.next(), 'list-sha1');
  const pathsSha1 = headerValue(lines.next(), 'paths-sha1');
  const fullWalkAt = new Date(headerValue(lines.next(), 'full-walk-at'));
  const stampedAtNs = BigInt(headerValue(lines.next(), 'stamped-at-ns'));
  const nested = new Map<string, string>();
  let line = lines.next();
  for (; line.startsWith('nested\t'); line = lines.next()) {
    const [sha1 = '', ...path] = line.slice('nested\t'.length).split('\t');
    nested.set(path.join('\t'), sha1);
  }
  const count = Number(headerValue(line, 'dirs'));
  const sha1 = /^[0-9a-f]{40}$/;
  if (
    !sha1.test(listSha1) ||
    !sha1.test(pathsSha1) ||
    Number.isNaN(fullWalkAt.getTime()) ||
    lines.next() !== ''
  )
    throw new Error('bad header');
  const dirs = new Map<string, DirStamp>();
  const counts: [string, number][] = [];
  for (let i = 0; i < count; i++) {
    const fields = lines.next().split('\t');
    if (fields.length < 6) throw new Error(`bad directory line ${i + 1}`);
    const [dev, ino, mtime, ctime, entries] = fields as [string, string, string, string, string];
    const path = fields.slice(5).join('\t');
    dirs.set(path, { dev, ino, mtimeNs: BigInt(mtime), ctimeNs: BigInt(ctime) });
    counts.push([path, Number(entries)]);
  }
  const entries = new Map<string, string>();
  for (const [path, n] of counts) if (n > 0) entries.set(path, lines.block(n));
  if (!lines.done) throw new Error('trailing lines');
  if (!dirs.has('')) throw new Error('no stamp of the tree itself');
  return { listSha1, pathsSha1, fullWalkAt, stampedAtNs, dirs, entries, nested };
}

const lineCount = (block: string | undefined) => {
  let n = 0;
  for (let at = block ? block.indexOf('\n') : -1; at >= 0; at = block!.indexOf('\n', at + 1)) n++;
  return n;
};

/** Writes a cache atomically: a temp file beside it, renamed over it. */
export async function writeDirCache(file: string, cache: DirCache): Promise<void> {
  const parts = [
    MAGIC,
    `list-sha1\t${cache.listSha1}`,
    `paths-sha1\t${cache.pathsSha1}`,
    `full-walk-at\t${cache.fullWalkAt.toISOString()}`,
    `stamped-at-ns\t${cache.stampedAtNs}`,
    ...[...cache.nested].map(([path, sha1]) => `nested\t${sha1}\t${path}`),
    `dirs\t${cache.dirs.size}`,
    '',
  ];
  for (const [path, s] of cache.dirs)
    parts.push(
      `${s.dev}\t${s.ino}\t${s.mtimeNs}\t${s.ctimeNs}\t${lineCount(cache.entries.get(path))}\t${path}`,
    );
  // Entry blocks end with their newline: joined on, not with, the separator.
  let blocks = '';
  for (const path of cache.dirs.keys()) blocks += cache.entries.get(path) ?? '';
  const temp = join(dirname(file), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, `${parts.join('\n')}\n${blocks}`);
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}
