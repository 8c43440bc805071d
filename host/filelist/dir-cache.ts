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
}

/** A full walk at least this often: the only thing that sees a change made by hand in place. */
export const FULL_WALK_EVERY_MS = 24 * 3600 * 1000;

/**
 * Git's "racy git": a change made in the same clock tick as the stamp (1 s on some file systems,
 * a server's clock on NFS) may leave mtime and ctime as they were. A directory whose times are
 * this close to the moment its stamp was taken counts as changed on the next run.
 */
export const RACY_NS = 2_000_000_000n;

const MAGIC = 'releng-filelist-dirs\t1';

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

/**
 * Tab-separated lines: a header (`key\tvalue`), an empty line, then one directory a line as
 * `dev\tino\tmtime_ns\tctime_ns\tpath`, path last because a name may hold a tab.
 */
function parseDirCache(text: string): DirCache {
  const lines = text.split('\n');
  if (lines[0] !== MAGIC) throw new Error('not a directory cache of this version');
  const listSha1 = headerValue(lines[1], 'list-sha1');
  const pathsSha1 = headerValue(lines[2], 'paths-sha1');
  const fullWalkAt = new Date(headerValue(lines[3], 'full-walk-at'));
  const stampedAtNs = BigInt(headerValue(lines[4], 'stamped-at-ns'));
  const count = Number(headerValue(lines[5], 'dirs'));
  const sha1 = /^[0-9a-f]{40}$/;
  if (!sha1.test(listSha1) || !sha1.test(pathsSha1) || Number.isNaN(fullWalkAt.getTime()) || lines[6] !== '')
    throw new Error('bad header');
  if (lines.length !== count + 8 || lines.at(-1) !== '') throw new Error('truncated');
  const dirs = new Map<string, DirStamp>();
  for (let i = 7; i < lines.length - 1; i++) {
    const fields = lines[i]!.split('\t');
    if (fields.length < 5) throw new Error(`bad line ${i + 1}`);
    const [dev, ino, mtime, ctime] = fields as [string, string, string, string];
    const path = fields.slice(4).join('\t');
    dirs.set(path, { dev, ino, mtimeNs: BigInt(mtime), ctimeNs: BigInt(ctime) });
  }
  if (!dirs.has('')) throw new Error('no stamp of the tree itself');
  return { listSha1, pathsSha1, fullWalkAt, stampedAtNs, dirs };
}

/** Writes a cache atomically: a temp file beside it, renamed over it. */
export async function writeDirCache(file: string, cache: DirCache): Promise<void> {
  const parts = [
    MAGIC,
    `list-sha1\t${cache.listSha1}`,
    `paths-sha1\t${cache.pathsSha1}`,
    `full-walk-at\t${cache.fullWalkAt.toISOString()}`,
    `stamped-at-ns\t${cache.stampedAtNs}`,
    `dirs\t${cache.dirs.size}`,
    '',
  ];
  for (const [path, s] of cache.dirs) parts.push(`${s.dev}\t${s.ino}\t${s.mtimeNs}\t${s.ctimeNs}\t${path}`);
  const temp = join(dirname(file), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, `${parts.join('\n')}\n`);
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}
