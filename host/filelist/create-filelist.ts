import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  type BigIntStats,
  closeSync,
  createReadStream,
  lstatSync,
  openSync,
  readFileSync,
  type Stats,
  statSync,
  writeSync,
} from 'node:fs';
import { chown, link, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../../shared/errors.ts';
import { type DirStamp, stampOf } from './dir-cache.ts';

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
const LIST_END = '\n[End]\n';

/** rsync --delay-updates holding dirs: a publish in progress (or killed), never content. */
const RSYNC_TEMP = '.~tmp~';

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
function findTimeNs(stamp: string): bigint {
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

const WRITE_CHUNK = 1 << 20;
/** Text is encoded sooner: a long rope of small strings outlives young-generation GCs. */
const TEXT_CHUNK = 1 << 16;

/**
 * A temp file written in large sequential writes, its SHA-1 and size computed on the way. Text is
 * gathered as a string and encoded in large pieces; bytes (lines reused from the previous list)
 * are copied into a buffer, so they are never decoded and encoded again.
 */
class HashedOutput {
  private text = '';
  private readonly bytes = Buffer.allocUnsafe(WRITE_CHUNK);
  private used = 0;
  private readonly hash = createHash('sha1');
  private fd: number | undefined;
  size = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'wx');
  }

  write(text: string): void {
    if (this.used) {
      // Among copied bytes (a fresh line between reused ones): encode it right there.
      if (this.used + text.length * 3 <= WRITE_CHUNK) {
        this.used += this.bytes.write(text, this.used, 'utf8');
        return;
      }
      this.flushBytes();
    }
    this.text += text;
    if (this.text.length >= TEXT_CHUNK) this.flushText();
  }

  /** Writes bytes [start, end) of `src`. */
  writeBytes(src: Buffer, start: number, end: number): void {
    if (this.text) this.flushText();
    const length = end - start;
    if (this.used + length > WRITE_CHUNK) this.flushBytes();
    if (length > WRITE_CHUNK) this.emit(src.subarray(start, end));
    else this.used += src.copy(this.bytes, this.used, start, end);
  }

  private flushText(): void {
    const text = this.text;
    this.text = '';
    this.emit(Buffer.from(text, 'utf8'));
  }

  private flushBytes(): void {
    const used = this.used;
    this.used = 0;
    this.emit(this.bytes.subarray(0, used));
  }

  private emit(bytes: Buffer): void {
    this.hash.update(bytes);
    for (let done = 0; done < bytes.length; ) done += writeSync(this.fd!, bytes, done);
    this.size += bytes.length;
  }

  /** Flushes and closes; the SHA-1 of everything written. */
  close(): string {
    if (this.text) this.flushText();
    if (this.used) this.flushBytes();
    closeSync(this.fd!);
    this.fd = undefined;
    return this.hash.digest('hex');
  }

  abandon(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface ListFacts {
  sha1: string;
  size: number;
}

/** Writes to a hidden temp name in `dir`; the commit renames it into place. */
function tempIn(dir: string, name: string): string {
  return join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Both lists of one tree while they are written, under temp names in `tempDir`. */
export class ListDraft {
  readonly fileList: HashedOutput;
  readonly timeList: HashedOutput;
  entries = 0;

  constructor(tempDir: string, names: TreeListNames) {
    this.fileList = new HashedOutput(tempIn(tempDir, 'fullfilelist'));
    this.timeList = new HashedOutput(tempIn(tempDir, names.timeList));
    this.timeList.write(LIST_HEADER);
  }

  /** One listed entry: its time-list line (no newline) and its path. */
  add(line: string, path: string): void {
    this.entries++;
    this.timeList.write(`${line}\n`);
    this.fileList.write(`${path}\n`);
  }

  /** Whole time-list lines reused as they are: bytes [start, end) of `src`. */
  keepLines(src: Buffer, start: number, end: number): void {
    if (end > start) this.timeList.writeBytes(src, start, end);
  }

  /** The entry of one reused line: its path and newline, bytes [start, end) of `src`. */
  keepPath(src: Buffer, start: number, end: number): void {
    this.entries++;
    this.fileList.writeBytes(src, start, end);
  }

  /** Ends the time list with the checksums, sorted by path as create-filelist does. */
  finish(checksums: Checksum[]): { timeList: ListFacts; fileList: ListFacts } {
    this.timeList.write(`\n${CHECKSUMS_HEADER}\n`);
    for (const checksum of checksums.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)))
      this.timeList.write(`${checksumLine(checksum)}\n`);
    this.timeList.write(LIST_END);
    return {
      timeList: { sha1: this.timeList.close(), size: this.timeList.size },
      fileList: { sha1: this.fileList.close(), size: this.fileList.size },
    };
  }

  async discard(): Promise<void> {
    this.fileList.abandon();
    this.timeList.abandon();
    await Promise.all([this.fileList.path, this.timeList.path].map((t) => rm(t, { force: true })));
  }
}

function sha1Of(data: Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}

export function repomdChecksum(tree: string, path: string): Checksum {
  return { path, sha1: sha1Of(readFileSync(join(tree, path))) };
}

/** The `[Checksums SHA1]` line of a checksum. */
export const checksumLine = (c: Checksum) => `${c.sha1}\t${c.path}`;

/** The carried-over checksums plus those of the repomd.xml the walk says to read. */
export function checksumsOf(tree: string, scan: TreeScan): Checksum[] {
  return [...scan.checksums, ...scan.repomds.map((path) => repomdChecksum(tree, path))];
}

/** One line of find output for an entry; directories carry their stamp in front. */
const RECORD = '%T@\t%y\t%s\t%P\\0';
const FIND_ARGS = [
  '.',
  '-mindepth',
  '1',
  // Nothing under an rsync holding dir is listed: do not even read it.
  '-name',
  `*${RSYNC_TEMP}*`,
  '-prune',
  '-o',
  '-type',
  'd',
  '-printf',
  `D%D\t%i\t%C@\t${RECORD}`,
  '-o',
  '-printf',
  RECORD,
];

/**
 * Streams `find`'s records (lstat data, NUL-terminated so any file name is safe) through a
 * callback. find is the fastest walker on the machine and keeps our memory flat.
 */
async function findRecords(tree: string, onRecord: (record: string) => void): Promise<void> {
  // The C locale: byte-wise name matching and a '.' in %T@ whatever the host's locale.
  const child = spawn('find', FIND_ARGS, {
    cwd: tree,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  // Split on NUL bytes before decoding, so a multi-byte character cut by a chunk stays whole.
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const end = data.lastIndexOf(0);
    if (end < 0) {
      carry = data;
      continue;
    }
    const records = data.toString('utf8', 0, end).split('\0');
    carry = data.subarray(end + 1);
    for (const record of records) onRecord(record);
  }
  const code = await exited;
  if (code !== 0)
    throw new Error(`find in ${tree} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
}

/** Walks the whole tree with find, writing every listed entry to the draft and stamping every directory. */
export async function fullWalk(tree: string, draft: ListDraft): Promise<TreeScan> {
  // Stamped before find reads it, as find stamps every directory before reading it: a change
  // made while the walk runs moves a stamp the next run compares. (find starts in the tree
  // itself, through a symlink if it is one.)
  const scan: TreeScan = {
    dirs: new Map([['', stampOf(statSync(tree, { bigint: true }))]]),
    repomds: [],
    checksums: [],
    cacheable: true,
  };
  await findRecords(tree, (record) => {
    let rest = record;
    let stamp: DirStamp | undefined;
    if (record.charCodeAt(0) === 68 /* D: a directory's stamp first */) {
      const t1 = record.indexOf('\t');
      const t2 = record.indexOf('\t', t1 + 1);
      const t3 = record.indexOf('\t', t2 + 1);
      rest = record.slice(t3 + 1);
      const mtime = rest.slice(0, rest.indexOf('\t'));
      stamp = {
        dev: record.slice(1, t1),
        ino: record.slice(t1 + 1, t2),
        mtimeNs: findTimeNs(mtime),
        ctimeNs: findTimeNs(record.slice(t2 + 1, t3)),
      };
    }
    // `<mtime>\t<type letter>\t<size>\t<path>`
    const tab = rest.indexOf('\t');
    const type = rest.charAt(tab + 1);
    const path = rest.slice(rest.indexOf('\t', tab + 3) + 1);
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (stamp && walksInto(path)) {
      scan.dirs.set(path, stamp);
      if (path.includes('\uFFFD')) scan.cacheable = false;
    }
    if (!isListed(path, name, type)) return;
    if (isRepomd(name, type)) scan.repomds.push(path);
    draft.add(`${wholeSeconds(rest.slice(0, tab))}${rest.slice(tab)}`, path);
  });
  return scan;
}

async function sha1File(path: string): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path, { highWaterMark: WRITE_CHUNK }))
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
