import { createHash } from 'node:crypto';
import { type BigIntStats, closeSync, lstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { isErrno } from '../../shared/errors.ts';
import {
  CHECKSUMS_HEADER,
  type Checksum,
  checksumLine,
  dirLine,
  isListed,
  isRepomd,
  LIST_HEADER,
  type ListDraft,
  mtimeSeconds,
  repomdChecksum,
  type TreeScan,
  timeLine,
  typeLetter,
  walksInto,
} from './create-filelist.ts';
import { type DirCache, type DirStamp, isRacy, sameStamp, stampOf } from './dir-cache.ts';

/** The cache cannot be trusted for this run: the caller walks the whole tree instead. */
export class StaleCache extends Error {
  override readonly name = 'StaleCache';
}

export interface IncrementalCounts {
  /** Directories whose stamp moved, or that were new. */
  reread: number;
  /** Of those, unchanged but stamped too close to a change to be sure (see isRacy). */
  racy: number;
  /** Of those, named by the dirty-path journal. */
  journaled: number;
  removed: number;
}

type DirState = { status: 'unchanged' | 'changed'; info: BigIntStats } | { status: 'removed' };

const REMOVED: DirState = { status: 'removed' };

const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf('/')));

/** Absolute path of a tree-relative one; plain concatenation, as path.join costs per entry. */
const inTree = (tree: string) => {
  const prefix = tree.endsWith('/') ? tree : `${tree}/`;
  return (path: string) => (path === '' ? tree : prefix + path);
};

/**
 * An order-free account of how the new lines differ from the previous list's: the SHA-1 of each
 * line added or taken away, summed lane by lane (mod 2^32). It balances to zero exactly when the
 * lines written afresh are the lines dropped, in any order: the list's content did not change,
 * although its order did, and the lists on disk can stay (a rerun changes nothing). Only lines
 * of changed directories pass through it, and none once a difference is certain (`differs`).
 */
class LineBalance {
  private readonly lanes = new Uint32Array(5);
  private count = 0;
  /** A difference is certain: nothing more to add up. */
  settled = false;

  add(line: string): void {
    if (!this.settled) this.fold(line, 1);
  }

  remove(line: string): void {
    if (!this.settled) this.fold(line, -1);
  }

  differs(): void {
    this.settled = true;
  }

  get balanced(): boolean {
    return !this.settled && this.count === 0 && this.lanes.every((lane) => lane === 0);
  }

  private fold(line: string, sign: 1 | -1): void {
    const digest = createHash('sha1').update(line).digest();
    for (let i = 0; i < 5; i++) this.lanes[i] = this.lanes[i]! + sign * digest.readUInt32BE(i * 4);
    this.count += sign;
  }
}

/** Checksum lines go through the balance too, told apart from file lines. */
const balanceLine = (c: Checksum) => `[Checksums SHA1]${checksumLine(c)}`;

/**
 * Stats every cached directory (parents first: under a removed one everything is removed) and
 * decides which can keep the previous list's lines for its entries.
 */
function statCachedDirs(
  tree: string,
  cache: DirCache,
  dirty: ReadonlySet<string>,
  counts: IncrementalCounts,
): Map<string, DirState> {
  const states = new Map<string, DirState>();
  const at = inTree(tree);
  for (const [path, stamp] of cache.dirs) {
    if (path !== '') {
      const parent = states.get(parentOf(path));
      if (!parent) throw new StaleCache(`the directory cache names ${path} before its parent`);
      if (parent.status === 'removed') {
        states.set(path, REMOVED);
        counts.removed++;
        continue;
      }
    }
    // The tree itself may be reached through a symlink, as find and readdir follow it.
    const info = (path === '' ? statSync : lstatSync)(at(path), { bigint: true, throwIfNoEntry: false });
    if (!info?.isDirectory()) {
      if (path === '') throw new StaleCache('the tree itself is gone');
      states.set(path, REMOVED);
      counts.removed++;
      continue;
    }
    const fresh = stampOf(info);
    if (path === '' && fresh.dev !== stamp.dev)
      throw new StaleCache('the tree is on another file system now');
    const moved = !sameStamp(stamp, fresh);
    const racy = !moved && isRacy(stamp, cache.stampedAtNs);
    const journaled = !moved && !racy && dirty.has(path);
    if (racy) counts.racy++;
    if (journaled) counts.journaled++;
    states.set(path, { status: moved || racy || journaled ? 'changed' : 'unchanged', info });
  }
  return states;
}

const READ_CHUNK = 1 << 20;
const NEWLINE = 10;
const TAB = 9;
const SLASH = 47;
const D = 100;

const HEADER_LINES = LIST_HEADER.split('\n').slice(0, -1);

/**
 * Streams the previous time list into the draft: a line stays when its directory did not change
 * (a directory's own line is written from its fresh stat: its mtime and size move with its
 * entries); repomd.xml checksums of unchanged directories stay too. Kept lines are copied as
 * bytes, never decoded: only a line's directory is, once per run of lines in the same one.
 * Returns those checksums and the SHA-1 of the list read.
 */
function keepUnchangedLines(
  timeListPath: string,
  states: Map<string, DirState>,
  draft: ListDraft,
  balance: LineBalance,
): { sha1: string; checksums: Checksum[] } {
  let fd: number;
  try {
    fd = openSync(timeListPath, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new StaleCache('there is no time list yet');
    throw err;
  }
  const hash = createHash('sha1');
  const checksums: Checksum[] = [];
  type Section = 'header' | 'files' | 'checksums-header' | 'checksums' | 'end' | 'after';
  let section = 'header' as Section;
  let lineNo = 0;
  const malformed = () => new StaleCache(`the time list is not one file-lists wrote (line ${lineNo})`);
  // Lines of one directory mostly come together: the last directory's bytes and its decision.
  let lastParent: Buffer | undefined;
  let keep = false;

  /** Whether bytes [start, end) of `buf` are `lastParent`'s (compared from the end, where they differ). */
  const sameParent = (buf: Buffer, start: number, end: number) => {
    if (lastParent === undefined || end - start !== lastParent.length) return false;
    for (let i = end - 1, j = lastParent.length - 1; i >= start; i--, j--)
      if (buf[i] !== lastParent[j]) return false;
    return true;
  };

  const stateOf = (path: string) => {
    const state = states.get(path);
    if (!state)
      throw new StaleCache(`the time list names ${path || '.'}, which the directory cache does not`);
    return state;
  };

  /** A line outside [Files]: few, decoded. */
  const otherLine = (line: string) => {
    if (section === 'checksums') {
      if (line === '') section = 'end';
      else {
        const tab = line.indexOf('\t');
        if (tab < 0) throw malformed();
        const checksum = { path: line.slice(tab + 1), sha1: line.slice(0, tab) };
        // A generated list's line (imagelist-rocky) is the caller's to write anew: not content.
        if (!checksum.path.endsWith('repomd.xml')) return;
        if (states.get(parentOf(checksum.path))?.status === 'unchanged') checksums.push(checksum);
        else balance.remove(balanceLine(checksum));
      }
    } else if (section === 'header') {
      if (line !== HEADER_LINES[lineNo - 1]) throw malformed();
      if (lineNo === HEADER_LINES.length) section = 'files';
    } else if (section === 'checksums-header') {
      if (line !== CHECKSUMS_HEADER) throw malformed();
      section = 'checksums';
    } else if (section === 'end') {
      if (line !== '[End]') throw malformed();
      section = 'after';
    } else throw malformed();
  };

  /** Handles the whole lines in buf[0, end); returns where the first incomplete one starts. */
  const lines = (buf: Buffer, end: number): number => {
    let pos = 0;
    let run = 0; // start of the kept lines not yet copied
    for (let nl = buf.indexOf(NEWLINE, pos); nl >= 0 && nl < end; nl = buf.indexOf(NEWLINE, pos)) {
      const start = pos;
      pos = nl + 1;
      lineNo++;
      if (section !== 'files') {
        otherLine(buf.toString('utf8', start, nl));
        run = pos;
        continue;
      }
      if (nl === start) {
        draft.keepLines(buf, run, start);
        section = 'checksums-header';
        run = pos;
        continue;
      }
      // `<mtime>\t<type>\t<size>\t<path>`: the path starts after the third tab, its directory
      // ends at its last slash.
      let type = 0;
      let pathStart = start;
      for (let tabs = 0; tabs < 3; pathStart++) {
        if (pathStart === nl) throw malformed();
        if (buf[pathStart] === TAB && ++tabs === 1) type = buf[pathStart + 1]!;
      }
      let parentEnd = nl - 1;
      while (parentEnd > pathStart && buf[parentEnd] !== SLASH) parentEnd--;
      if (!sameParent(buf, pathStart, parentEnd)) {
        lastParent = Buffer.from(buf.subarray(pathStart, parentEnd));
        keep = stateOf(lastParent.toString('utf8')).status === 'unchanged';
      }
      if (keep && type !== D) {
        draft.keepPath(buf, pathStart, pos);
        continue;
      }
      draft.keepLines(buf, run, start);
      run = pos;
      if (!keep) {
        if (!balance.settled) balance.remove(buf.toString('utf8', start, nl));
        continue;
      }
      // A directory's line, from its fresh stat; if it moved, the list's content did.
      const path = buf.toString('utf8', pathStart, nl);
      const dir = stateOf(path);
      const fresh = dir.status === 'removed' ? undefined : dirLine(dir.info, path);
      if (fresh !== undefined) draft.add(fresh, path);
      if (fresh !== buf.toString('utf8', start, nl)) balance.differs();
    }
    if (section === 'files') draft.keepLines(buf, run, pos);
    return pos;
  };

  let buf = Buffer.allocUnsafe(READ_CHUNK);
  let have = 0;
  try {
    for (;;) {
      if (have === buf.length) buf = Buffer.concat([buf, Buffer.allocUnsafe(buf.length)]); // a huge line
      const n = readSync(fd, buf, have, buf.length - have, null);
      if (n === 0) break;
      hash.update(buf.subarray(have, have + n));
      have += n;
      const used = lines(buf, have);
      buf.copyWithin(0, used, have);
      have -= used;
    }
  } finally {
    closeSync(fd);
  }
  if (have > 0 || section !== 'after') throw malformed();
  return { sha1: hash.digest('hex'), checksums };
}

/**
 * Rebuilds a tree's lists from the previous time list and the directory cache: stats every cached
 * directory, keeps the lines of unchanged ones, and reads afresh (readdir + lstat) the direct
 * entries of changed ones and everything under new ones, appended after the kept lines.
 * Directories the journal names count as changed. `sameContent` says the lines are those of the
 * list on disk (in another order). Throws StaleCache when the cache does not describe that list.
 */
export function incrementalWalk(
  tree: string,
  timeListPath: string,
  cache: DirCache,
  dirty: ReadonlySet<string>,
  draft: ListDraft,
): TreeScan & { counts: IncrementalCounts; sameContent: boolean } {
  const counts: IncrementalCounts = { reread: 0, racy: 0, journaled: 0, removed: 0 };
  const states = statCachedDirs(tree, cache, dirty, counts);
  const balance = new LineBalance();
  if (counts.removed) balance.differs();
  const previous = keepUnchangedLines(timeListPath, states, draft, balance);
  if (previous.sha1 !== cache.listSha1)
    throw new StaleCache('the time list on disk is not the one the directory cache describes');

  const dirs = new Map<string, DirStamp>();
  const queue: string[] = [];
  for (const [path, state] of states) {
    if (state.status === 'removed') continue;
    dirs.set(path, stampOf(state.info));
    if (state.status === 'changed') queue.push(path);
  }
  const checksums = previous.checksums;
  // A changed directory's entries, each stat'ed; a directory the cache does not know is new and
  // read the same way, which walks it whole. Names sorted, so the output is deterministic.
  const at = inTree(tree);
  for (let i = 0; i < queue.length; i++) {
    const dir = queue[i]!;
    counts.reread++;
    for (const name of readdirSync(at(dir)).sort()) {
      const path = dir === '' ? name : `${dir}/${name}`;
      if (!walksInto(path)) continue;
      if (name.includes('\uFFFD')) throw new StaleCache(`a name in ${dir || '.'} is not valid UTF-8`);
      const absolute = at(path);
      const info = lstatSync(absolute, { throwIfNoEntry: false });
      const type = info && typeLetter(info);
      if (!type) continue;
      if (type === 'd' && (states.get(path)?.status ?? 'removed') === 'removed' && !dirs.has(path)) {
        // New: stamped before it is read, like every directory.
        dirs.set(path, stampOf(lstatSync(absolute, { bigint: true })));
        queue.push(path);
        balance.differs();
      }
      if (!isListed(path, name, type)) continue;
      const line = timeLine(mtimeSeconds(info, absolute), type, info.size, path);
      draft.add(line, path);
      balance.add(line);
      if (isRepomd(name, type)) {
        const checksum = repomdChecksum(tree, path);
        checksums.push(checksum);
        balance.add(balanceLine(checksum));
      }
    }
  }
  return { dirs, repomds: [], checksums, cacheable: true, counts, sameContent: balance.balanced };
}
