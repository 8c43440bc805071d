import { type BigIntStats, lstatSync, readdirSync, statSync } from 'node:fs';
import { errorMessage, isErrno } from '../../shared/errors.ts';
import { type DirCache, type DirStamp, isRacy, sameStamp, stampOf } from './dir-cache.ts';
import { inodesOf, type ListedName, listDirs } from './dir-listing.ts';
import {
  type Checksum,
  checksumLine,
  dirLine,
  isListed,
  isRepomd,
  mtimeSeconds,
  repomdChecksum,
  type TreeScan,
  timeLine,
  typeLetter,
  walksInto,
} from './format.ts';
import { LineBalance } from './line-balance.ts';
import type { ListDraft } from './list-draft.ts';
import { MalformedList, readTimeList, type TimeListSink } from './list-reader.ts';
import { noteEntry } from './walk.ts';

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
  /** Entries of the directories read again that were lstat'ed (new, replaced, or journaled). */
  statted: number;
}

type DirState =
  | { status: 'unchanged'; info: BigIntStats }
  | {
      status: 'changed';
      info: BigIntStats;
      /** Its stamp moved (rather than racy or journaled: then every entry is read again). */
      moved: boolean;
      /** Its entries by getdents (when not journaled), and the names whose line still holds. */
      listing?: ListedName[];
      kept?: Set<string>;
    }
  | { status: 'removed' };

const REMOVED: DirState = { status: 'removed' };

const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf('/')));
const nameOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** Absolute path of a tree-relative one; plain concatenation, as path.join costs per entry. */
const inTree = (tree: string) => {
  const prefix = tree.endsWith('/') ? tree : `${tree}/`;
  return (path: string) => (path === '' ? tree : prefix + path);
};

/** Checksum lines go through the balance too, told apart from file lines. */
const balanceLine = (c: Checksum) => `[Checksums SHA1]${checksumLine(c)}`;

/** Whether `path` is a nested tree in `prune` or under one. */
const underAny = (prune: ReadonlySet<string>, path: string) => {
  for (let p = path; p !== ''; p = parentOf(p)) if (prune.has(p)) return true;
  return false;
};

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
    states.set(
      path,
      moved || racy || journaled ? { status: 'changed', info, moved } : { status: 'unchanged', info },
    );
  }
  return states;
}

/**
 * Lists the changed directories' entries with their inode numbers (one find for all of them)
 * and marks the names whose line still holds: a file or link whose inode is the one the cache
 * noted. Only directories whose stamp moved: a journaled one had entries changed in place, and
 * a racy one may have had (within the stamp's tick, as it was read), so all theirs are read again.
 */
async function listChangedDirs(
  tree: string,
  cache: DirCache,
  states: Map<string, DirState>,
  dirty: ReadonlySet<string>,
  prune: ReadonlySet<string>,
): Promise<void> {
  const changed = [...states]
    .filter(
      ([path, state]) => state.status === 'changed' && state.moved && !dirty.has(path) && !prune.has(path),
    )
    .map(([path]) => path);
  if (changed.length === 0) return;
  let listings: Map<string, ListedName[]>;
  try {
    listings = await listDirs(tree, changed);
  } catch (err) {
    throw new StaleCache(`a changed directory could not be listed (${errorMessage(err)})`);
  }
  for (const path of changed) {
    const state = states.get(path) as Extract<DirState, { status: 'changed' }>;
    const inodes = inodesOf(cache.entries.get(path));
    state.listing = listings.get(path)!;
    state.kept = new Set(
      state.listing
        .filter((e) => (e.type === 'f' || e.type === 'l') && inodes.get(e.name) === e.ino)
        .map((e) => e.name),
    );
  }
}

/**
 * The previous time list's lines into the draft: a file's or link's line stays when its
 * directory did not change, or changed but the entry is the same inode; a directory's line is
 * written from its fresh stat (its mtime and size move with its entries); repomd.xml checksums
 * likewise. Lines under a nested tree are skipped: they come from its own list. Kept lines are
 * copied as bytes, never decoded; a line's directory is, once per run of lines in the same one.
 */
class KeptLines implements TimeListSink {
  readonly checksums: Checksum[] = [];
  /** Checksums of files other than repomd.xml: the lists' own (see trees.ts). */
  readonly own: Checksum[] = [];
  private lastParent: Buffer | undefined;
  private parentState: DirState | undefined;
  private nested = false;
  /** Start of the kept lines not yet copied, or -1. */
  private run = -1;

  constructor(
    private readonly states: Map<string, DirState>,
    private readonly prune: ReadonlySet<string>,
    private readonly draft: ListDraft,
    private readonly balance: LineBalance,
  ) {}

  private stateOf(path: string): DirState {
    const state = this.states.get(path);
    if (!state)
      throw new StaleCache(`the time list names ${path || '.'}, which the directory cache does not`);
    return state;
  }

  /** Whether bytes [start, end) of `buf` are `lastParent`'s (compared from the end, where they differ). */
  private sameParent(buf: Buffer, start: number, end: number): boolean {
    const last = this.lastParent;
    if (last === undefined || end - start !== last.length) return false;
    for (let i = end - 1, j = last.length - 1; i >= start; i--, j--) if (buf[i] !== last[j]) return false;
    return true;
  }

  private keepsFile(state: DirState, name: () => string): boolean {
    if (state.status === 'unchanged') return true;
    return state.status === 'changed' && state.kept !== undefined && state.kept.has(name());
  }

  file(buf: Buffer, start: number, pathStart: number, parentEnd: number, nl: number, type: number): void {
    if (!this.sameParent(buf, pathStart, parentEnd)) {
      this.lastParent = Buffer.from(buf.subarray(pathStart, parentEnd));
      const parent = this.lastParent.toString('utf8');
      this.nested = underAny(this.prune, parent);
      this.parentState = this.nested ? undefined : this.stateOf(parent);
    }
    const state = this.parentState;
    const isDir = type === 100; /* d */
    if (
      state &&
      !isDir &&
      this.keepsFile(state, () =>
        buf.toString('utf8', parentEnd === pathStart ? pathStart : parentEnd + 1, nl),
      )
    ) {
      if (this.run < 0) this.run = start;
      this.draft.keepPath(buf, pathStart, nl + 1);
      return;
    }
    this.flush(buf, start);
    if (!state) return; // a nested tree's line
    const line = buf.toString('utf8', start, nl);
    if (isDir && (state.status === 'unchanged' || (state.status === 'changed' && state.kept))) {
      // A directory's line, from its fresh stat; if it moved, the list's content did.
      const path = buf.toString('utf8', pathStart, nl);
      const dir = this.stateOf(path);
      const fresh = dir.status === 'removed' ? undefined : dirLine(dir.info, path);
      if (fresh !== undefined) this.draft.add(fresh, path);
      if (fresh !== line) this.balance.differs();
      return;
    }
    this.balance.remove(line);
  }

  flush(buf: Buffer, end: number): void {
    if (this.run >= 0 && end > this.run) this.draft.keepLines(buf, this.run, end);
    this.run = -1;
  }

  checksum(checksum: Checksum): void {
    // The lists' own checksums (imagelist-rocky): written afresh by the caller, compared there.
    if (nameOf(checksum.path) !== 'repomd.xml') {
      this.own.push(checksum);
      return;
    }
    const parent = parentOf(checksum.path);
    if (underAny(this.prune, parent)) return;
    const state = this.states.get(parent);
    if (state && this.keepsFile(state, () => nameOf(checksum.path))) this.checksums.push(checksum);
    else this.balance.remove(balanceLine(checksum));
  }
}

/**
 * Reads afresh what the previous list cannot vouch for: the changed directories (queued), with
 * every entry new or replaced lstat'ed, and everything under new directories. Each line read goes
 * to the draft and the balance; `dirs` stamps every directory listed, `entries` their inodes.
 */
class FreshReader {
  readonly dirs = new Map<string, DirStamp>();
  readonly entries = new Map<string, string[]>();
  private readonly queue: string[] = [];
  private readonly at: (path: string) => string;

  constructor(
    private readonly tree: string,
    private readonly states: Map<string, DirState>,
    private readonly prune: ReadonlySet<string>,
    private readonly draft: ListDraft,
    private readonly balance: LineBalance,
    private readonly checksums: Checksum[],
    private readonly counts: IncrementalCounts,
  ) {
    this.at = inTree(tree);
    for (const [path, state] of states) {
      if (state.status === 'removed') continue;
      this.dirs.set(path, stampOf(state.info));
      if (state.status === 'changed' && !prune.has(path)) this.queue.push(path);
    }
  }

  /** Reads every queued directory; new directories found on the way join the queue. */
  readQueued(): void {
    for (let i = 0; i < this.queue.length; i++) {
      const dir = this.queue[i]!;
      this.counts.reread++;
      const state = this.states.get(dir);
      if (state?.status === 'changed' && state.listing) {
        for (const entry of state.listing)
          if (state.kept!.has(entry.name)) noteEntry(this.entries, dir, entry.ino, entry.name);
          else this.readEntry(dir, entry.name, entry);
      } else for (const name of readdirSync(this.at(dir)).sort()) this.readEntry(dir, name);
    }
  }

  /** One entry read afresh: its line, its inode noted, a new directory stamped and queued. */
  private readEntry(dir: string, name: string, known?: ListedName): void {
    const path = dir === '' ? name : `${dir}/${name}`;
    if (!walksInto(path)) return;
    if (name.includes('\uFFFD')) throw new StaleCache(`a name in ${dir || '.'} is not valid UTF-8`);
    if (known && !isListed(path, name, known.type)) return;
    const cached = this.states.get(path);
    // A directory the cache knows got its line from its fresh stat.
    if (known?.type === 'd' && cached && cached.status !== 'removed') return;
    const absolute = this.at(path);
    const info = lstatSync(absolute, { throwIfNoEntry: false });
    this.counts.statted++;
    const type = info && typeLetter(info);
    if (!type) return;
    if (type === 'd' && (cached?.status ?? 'removed') === 'removed' && !this.dirs.has(path)) {
      // New: stamped before it is read, like every directory.
      this.dirs.set(path, stampOf(lstatSync(absolute, { bigint: true })));
      if (!this.prune.has(path)) this.queue.push(path);
      this.balance.differs();
    }
    if (!isListed(path, name, type)) return;
    if (type !== 'd') noteEntry(this.entries, dir, known?.ino ?? String(info.ino), name);
    const line = timeLine(mtimeSeconds(info, absolute), type, info.size, path);
    this.draft.add(line, path);
    this.balance.add(line);
    if (isRepomd(name, type)) {
      const checksum = repomdChecksum(this.tree, path);
      this.checksums.push(checksum);
      this.balance.add(balanceLine(checksum));
    }
  }

  /** Each directory's entry block for the new cache: read afresh, or the cached one kept. */
  entryBlocks(cache: DirCache): Map<string, string> {
    const blocks = new Map<string, string>();
    for (const path of this.dirs.keys()) {
      const fresh = this.entries.get(path);
      const block = fresh
        ? `${fresh.join('\n')}\n`
        : this.states.get(path)?.status === 'unchanged'
          ? cache.entries.get(path)
          : undefined;
      if (block) blocks.set(path, block);
    }
    return blocks;
  }
}

/** Feeds the previous time list to `kept`; it must be the list the cache describes. */
function readPreviousList(timeListPath: string, kept: KeptLines, cache: DirCache): void {
  let sha1: string;
  try {
    sha1 = readTimeList(timeListPath, kept);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new StaleCache('there is no time list yet');
    if (err instanceof MalformedList) throw new StaleCache(err.message);
    throw err;
  }
  if (sha1 !== cache.listSha1)
    throw new StaleCache('the time list on disk is not the one the directory cache describes');
}

/**
 * Rebuilds a tree's lists from the previous time list and the directory cache: stats every
 * cached directory, lists the changed ones (names, types and inode numbers, no stat), keeps the
 * lines of unchanged entries, and lstats only new or replaced names, the entries of journaled
 * directories and everything under new ones, appended after the kept lines. Directories in
 * `prune` (nested trees) get their own line, nothing under them. `sameContent` says the lines
 * are those of the list on disk (in another order), repomd.xml checksums included; the list's
 * other checksums (`ownChecksums`, the image list's) are the caller's to compare. Throws
 * StaleCache when the cache does not describe that list.
 */
export async function incrementalWalk(
  tree: string,
  timeListPath: string,
  cache: DirCache,
  dirty: ReadonlySet<string>,
  draft: ListDraft,
  prune: ReadonlySet<string> = new Set(),
): Promise<TreeScan & { counts: IncrementalCounts; sameContent: boolean; ownChecksums: Checksum[] }> {
  const counts: IncrementalCounts = { reread: 0, racy: 0, journaled: 0, removed: 0, statted: 0 };
  const states = statCachedDirs(tree, cache, dirty, counts);
  await listChangedDirs(tree, cache, states, dirty, prune);
  const balance = new LineBalance();
  if (counts.removed) balance.differs();
  const kept = new KeptLines(states, prune, draft, balance);
  readPreviousList(timeListPath, kept, cache);
  const fresh = new FreshReader(tree, states, prune, draft, balance, kept.checksums, counts);
  fresh.readQueued();
  return {
    dirs: fresh.dirs,
    entries: fresh.entryBlocks(cache),
    repomds: [],
    checksums: kept.checksums,
    cacheable: true,
    counts,
    sameContent: balance.balanced,
    ownChecksums: kept.own,
  };
}
