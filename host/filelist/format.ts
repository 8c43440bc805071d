import { createHash } from 'node:crypto';
import type { BigIntStats, Stats } from 'node:fs';
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DirStamp } from './dir-cache.ts';

/**
 * quick-fedora-mirror's `create-filelist` output:
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
 * list. `fullfilelist` holds the same paths, one a line. The order of lines is not part of the
 * format (mirrors read them into a map).
 */
export const FILELIST_VERSION = 2;

export const LIST_HEADER = `[Version]\n${FILELIST_VERSION}\n\n[Files]\n`;
export const CHECKSUMS_HEADER = '[Checksums SHA1]';
export const LIST_END = '\n[End]\n';

/** rsync --delay-updates holding dirs: a publish in progress (or killed), never content. */
export const RSYNC_TEMP = '.~tmp~';

export interface TreeListNames {
  /** `fullfiletimelist-rocky` */
  timeList: string;
  /** Same content under other names mirrors poll: `fullfiletimelist`, `fullfiletimelist-rocky-linux`. */
  copies: string[];
}

export interface Checksum {
  path: string;
  sha1: string;
}

/** What a walk of a tree leaves besides its lines. */
export interface TreeScan {
  /** Every directory walked, stamped, parents first: the next run's directory cache. */
  dirs: Map<string, DirStamp>;
  /**
   * Each walked directory's direct entries as `ino\tname` lines (names newline-free), when the
   * walk saw their inode numbers: the next incremental run stats only the names whose inode moved.
   */
  entries?: Map<string, string>;
  /** repomd.xml files whose SHA-1 still has to be read. */
  repomds: string[];
  /** repomd.xml SHA-1s carried over from the previous list. */
  checksums: Checksum[];
  /** False when a directory name is not valid UTF-8: it cannot be stamped again by its name. */
  cacheable: boolean;
}

/** Whether anything at or below `path` can be listed: nothing in an rsync holding dir or under a name with a newline. */
export function walksInto(path: string): boolean {
  return !path.includes(RSYNC_TEMP) && !path.includes('\n');
}

/** The lists' own names (and imagelist*, see README): never listed, so a list does not describe itself. */
function isOwnFile(name: string): boolean {
  const bare = name.charCodeAt(0) === 46 /* . */ ? name.slice(1) : name;
  return (
    bare.startsWith('fullfilelist') || bare.startsWith('fullfiletimelist') || bare.startsWith('imagelist')
  );
}

/** Whether an entry gets a line: files, dirs and links only (find's %y letters), minus the above. */
export function isListed(path: string, name: string, type: string): boolean {
  return (type === 'f' || type === 'd' || type === 'l') && walksInto(path) && !isOwnFile(name);
}

export function isRepomd(name: string, type: string): boolean {
  return type === 'f' && name === 'repomd.xml';
}

/** st_mtime's whole seconds from find's `%T@` (`1764240000.1234567890`), as `%Ts` prints them. */
export function wholeSeconds(stamp: string): string {
  const dot = stamp.indexOf('.');
  if (dot < 0) return stamp;
  const seconds = stamp.slice(0, dot);
  // Before 1970 the fraction counts up from the next lower second (tv_sec is floored).
  return stamp.startsWith('-') && /[1-9]/.test(stamp.slice(dot + 1)) ? String(Number(seconds) - 1) : seconds;
}

/** Nanoseconds from find's `%T@`/`%C@`, equal to Node's `mtimeNs`/`ctimeNs` of the same inode. */
export function findTimeNs(stamp: string): bigint {
  const [seconds = '0', fraction = ''] = stamp.split('.');
  const ns = BigInt(fraction.padEnd(9, '0').slice(0, 9));
  return BigInt(seconds) * 1_000_000_000n + (seconds.startsWith('-') ? -ns : ns);
}

/** find's %y letter for an lstat result, or undefined for what is never listed (sockets, devices). */
export function typeLetter(info: Stats | BigIntStats): 'f' | 'd' | 'l' | undefined {
  if (info.isFile()) return 'f';
  if (info.isDirectory()) return 'd';
  return info.isSymbolicLink() ? 'l' : undefined;
}

/** st_mtime in whole seconds (floored, as tv_sec is) from nanoseconds. */
function floorSeconds(ns: bigint): bigint {
  const seconds = ns / 1_000_000_000n;
  return ns < 0n && seconds * 1_000_000_000n !== ns ? seconds - 1n : seconds;
}

/**
 * st_mtime in whole seconds from a plain lstat of `path`. Its mtimeMs is a double, exact to the
 * second except when it lands on one: x.999999999 s may round up to the next, so only then are
 * the nanoseconds asked for (cheaper than a BigInt lstat of every entry).
 */
export function mtimeSeconds(info: Stats, path: string): number | bigint {
  const ms = info.mtimeMs;
  let seconds = Math.floor(ms / 1000);
  if (seconds * 1000 > ms) seconds--;
  else if ((seconds + 1) * 1000 <= ms) seconds++;
  if (seconds * 1000 !== ms) return seconds;
  return floorSeconds(lstatSync(path, { bigint: true }).mtimeNs);
}

/** A time-list line: what find's `%T@ %y %s %P` gives in a full walk. */
export function timeLine(
  seconds: number | bigint,
  type: string,
  size: number | bigint,
  path: string,
): string {
  return `${seconds}\t${type}\t${size}\t${path}`;
}

/** The line of a directory from its BigInt lstat (taken for its stamp anyway). */
export function dirLine(info: BigIntStats, path: string): string {
  return timeLine(floorSeconds(info.mtimeNs), 'd', info.size, path);
}

export function repomdChecksum(tree: string, path: string): Checksum {
  return {
    path,
    sha1: createHash('sha1')
      .update(readFileSync(join(tree, path)))
      .digest('hex'),
  };
}

/** The `[Checksums SHA1]` line of a checksum. */
export const checksumLine = (c: Checksum) => `${c.sha1}\t${c.path}`;

/** The carried-over checksums plus those of the repomd.xml the walk says to read. */
export function checksumsOf(tree: string, scan: TreeScan): Checksum[] {
  return [...scan.checksums, ...scan.repomds.map((path) => repomdChecksum(tree, path))];
}
