import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { type CommitOptions, commitLists } from './commit.ts';
import {
  type DirCache,
  FULL_WALK_EVERY_MS,
  fileSystemNow,
  readDirCache,
  writeDirCache,
} from './dir-cache.ts';
import { type Checksum, checksumsOf, type TreeListNames, type TreeScan } from './format.ts';
import { writeImageList } from './imagelist.ts';
import { type IncrementalCounts, incrementalWalk, StaleCache } from './incremental.ts';
import { dirtyDirsIn, dropJournalEntries, journalFile, readJournal } from './journal.ts';
import { ListDraft } from './list-draft.ts';
import { copyNestedList, type NestedTree, nestedPath } from './nested.ts';
import { fullWalk } from './walk.ts';

/** One tree mirrors pull, and the names its lists go under. */
/** A tree whose lists include an image list (`imagelist-rocky`, see imagelist.ts). */
type WithImageList = TreeListNames & { imageList?: string };

export interface ListedTree extends WithImageList {
  label: 'category' | 'root' | 'sig';
  dir: string;
}

/**
 * The three production trees of sync-file-list-parallel.sh: the release category
 * (`mirror/pub/rocky`), the production root (`mirror/pub`) and the SIG tree (`mirror/pub/sig`).
 */
export function listedTrees(config: ReleaseConfig, root: string): ListedTree[] {
  const production = join(root, config.mounts.production);
  const category = join(production, config.categoryStub);
  const stub = basename(config.categoryStub);
  return [
    {
      label: 'category',
      dir: category,
      timeList: `fullfiletimelist-${stub}`,
      copies: ['fullfiletimelist', `fullfiletimelist-${stub}-linux`],
      imageList: `imagelist-${stub}`,
    },
    {
      label: 'root',
      dir: join(category, '..'),
      timeList: `fullfiletimelist-${stub}`,
      copies: ['fullfiletimelist'],
    },
    {
      label: 'sig',
      dir: join(production, config.sigCategoryStub),
      timeList: 'fullfiletimelist-sig',
      copies: ['fullfiletimelist'],
    },
  ];
}

const sameChecksums = (a: Checksum[], b: Checksum[]) =>
  a.length === b.length && a.every((c) => b.some((d) => d.path === c.path && d.sha1 === c.sha1));

/** The owner of published files, applied only when we may chown (running as root). */
export function publishOwner(config: ReleaseConfig): { uid: number; gid: number } | undefined {
  return process.getuid?.() === 0 ? config.owner : undefined;
}

export interface TreeListOptions {
  /** Temp lists, on the production file system but outside every listed tree. */
  tempDir: string;
  /** This tree's directory cache (same place rules as tempDir). */
  cacheFile: string;
  owner?: { uid: number; gid: number };
  /** Walk the whole tree even when the cache is usable. */
  full?: boolean;
  /** Tree-relative directories the dirty-path journal names: read again whatever their stamp. */
  dirty?: ReadonlySet<string>;
  /** Trees inside this one whose lists were just written: their lines are copied, not walked. */
  nested?: NestedTree[];
  now: Date;
  /** Called right before the lists replace those mirrors read: throws when this run may no longer write. */
  fence?: () => Promise<void>;
}

export interface TreeListResult {
  tree: string;
  entries: number;
  repomdFiles: number;
  written: string[];
  walk: 'full' | 'incremental';
  /** Why the whole tree was walked. */
  reason?: string;
  /** Directories in the tree (stamped for the next run). */
  dirs: number;
  /** What an incremental run read again. */
  counts?: IncrementalCounts;
}

/** The cache to start from, or why the whole tree must be walked. */
async function usableCache(options: TreeListOptions): Promise<{ cache: DirCache } | { problem: string }> {
  if (options.full) return { problem: 'a full walk was asked for (--full)' };
  const load = await readDirCache(options.cacheFile);
  if ('problem' in load) return load;
  const age = options.now.getTime() - load.cache.fullWalkAt.getTime();
  if (!(age >= 0 && age < FULL_WALK_EVERY_MS))
    return { problem: `the last full walk was at ${load.cache.fullWalkAt.toISOString()}` };
  return load;
}

/** What an incremental walk gives beside the scan. */
interface IncrementalScan {
  scan: TreeScan;
  counts: IncrementalCounts;
  /** The previous list's checksums that are not the walk's (the image list's). */
  previousOwn: Checksum[];
  /** The walk's lines are those of the list on disk. */
  keepsContent: boolean;
}

/** The incremental walk from `cache`; a StaleCache says why the whole tree must be walked. */
async function walkFromCache(
  tree: string,
  names: WithImageList,
  cache: DirCache,
  options: TreeListOptions,
  draft: ListDraft,
  prune: ReadonlySet<string>,
): Promise<IncrementalScan> {
  if ([...cache.nested.keys()].sort().join('\n') !== [...prune].join('\n'))
    throw new StaleCache('the nested trees are not those the directory cache describes');
  const dirty = options.dirty ?? new Set<string>();
  const walk = await incrementalWalk(tree, join(tree, names.timeList), cache, dirty, draft, prune);
  const { counts, ownChecksums, sameContent, ...scan } = walk;
  return { scan, counts, previousOwn: ownChecksums, keepsContent: sameContent };
}

/** The nested trees' lines, after this tree's own: their checksums, and each list's SHA-1. */
function appendNestedLists(nested: NestedTree[], draft: ListDraft) {
  const checksums: Checksum[] = [];
  const lists = new Map<string, string>();
  for (const n of nested) {
    const copied = copyNestedList(n, draft);
    checksums.push(...copied.checksums);
    lists.set(n.path, copied.sha1);
  }
  return { checksums, lists };
}

/**
 * Writes `fullfilelist` and the time list of one tree: incrementally from its directory cache
 * when that describes the list on disk, otherwise by walking the whole tree; then saves the
 * cache for the next run. See README.md for why the incremental lists equal a full walk's.
 */
export async function writeTreeLists(
  tree: string,
  names: WithImageList,
  options: TreeListOptions,
): Promise<TreeListResult> {
  await mkdir(join(options.cacheFile, '..'), { recursive: true });
  // Before the first stamp: what isRacy compares the directories' times with next run.
  const stampedAtNs = await fileSystemNow(join(options.cacheFile, '..'));
  const start = await usableCache(options);
  let reason = 'problem' in start ? start.problem : undefined;
  const nested = [...(options.nested ?? [])].sort((a, b) => (a.path < b.path ? -1 : 1));
  const prune = new Set(nested.map((n) => n.path));
  let draft = new ListDraft(options.tempDir, names);
  try {
    let incremental: IncrementalScan | undefined;
    if ('cache' in start) {
      try {
        incremental = await walkFromCache(tree, names, start.cache, options, draft, prune);
      } catch (err) {
        if (!(err instanceof StaleCache)) throw err;
        reason = err.message;
        await draft.discard();
        draft = new ListDraft(options.tempDir, names);
      }
    }
    /** The cache this run started from, when the incremental walk could use it. */
    const cached = incremental && 'cache' in start ? start.cache : undefined;
    const scan = incremental?.scan ?? (await fullWalk(tree, draft, [...prune]));
    const nestedOut = appendNestedLists(nested, draft);
    const entries = draft.entries;
    // Written before the time list, which names its SHA-1.
    const images = names.imageList
      ? await writeImageList(tree, names.imageList, scan.dirs.keys(), options)
      : undefined;
    // Unchanged lists need unchanged nested lists and image list (neither is in the walk's account).
    const keepsContent =
      !!incremental?.keepsContent &&
      [...nestedOut.lists].every(([path, sha1]) => cached?.nested.get(path) === sha1) &&
      sameChecksums(incremental.previousOwn, images ? [images.checksum] : []);
    const onDisk: Pick<CommitOptions, 'onDiskSha1' | 'sameContentAs'> = cached
      ? { onDiskSha1: cached.listSha1, ...(keepsContent ? { sameContentAs: cached } : {}) }
      : {};
    const checksums = [...checksumsOf(tree, scan), ...nestedOut.checksums].filter(
      (c) => !images || c.path !== images.checksum.path,
    );
    const facts = draft.finish([...checksums, ...(images ? [images.checksum] : [])]);
    await options.fence?.();
    const { written, ...digests } = await commitLists(tree, names, draft, facts, { ...options, ...onDisk });
    if (scan.cacheable)
      await writeDirCache(options.cacheFile, {
        ...digests,
        fullWalkAt: cached ? cached.fullWalkAt : options.now,
        stampedAtNs,
        dirs: scan.dirs,
        entries: scan.entries ?? new Map(),
        nested: nestedOut.lists,
      });
    else await rm(options.cacheFile, { force: true });
    return {
      tree,
      entries,
      repomdFiles: scan.repomds.length + scan.checksums.length + nestedOut.checksums.length,
      written: images?.written ? [names.imageList!, ...written] : written,
      walk: reason ? 'full' : 'incremental',
      ...(reason ? { reason } : { counts: incremental?.counts }),
      dirs: scan.dirs.size,
    };
  } finally {
    await draft.discard();
  }
}

/**
 * Writes every tree's lists, the inner trees at once, then the root; a tree that does not exist
 * yet is skipped. `stateDir` (on the production file system, outside the trees) holds the temp
 * lists, the directory caches and the dirty-path journal, which is emptied once every tree's
 * lists are written.
 */
export async function writeAllLists(
  trees: ListedTree[],
  run: Pick<TreeListOptions, 'owner' | 'full' | 'now' | 'fence'> & { stateDir: string },
): Promise<TreeListResult[]> {
  const tempDir = join(run.stateDir, 'filelist-tmp');
  await mkdir(tempDir, { recursive: true });
  const journal = await readJournal(journalFile(run.stateDir));
  const write = (list: ListedTree[], nested: (t: ListedTree) => NestedTree[] = () => []) =>
    Promise.all(
      list
        .filter((t) => existsSync(t.dir))
        .map((t) =>
          writeTreeLists(t.dir, t, {
            ...run,
            tempDir,
            cacheFile: join(run.stateDir, 'filelist-cache', `${t.label}.dirs`),
            dirty: dirtyDirsIn(t.dir, journal.paths),
            nested: nested(t),
          }),
        ),
    );
  // The root's list names the category and SIG directories with their mtimes, which writing
  // their own lists moves: the root goes last, so its list matches them and a rerun finds
  // nothing to change. Their lines in it are copied from their fresh lists, not walked again.
  const innerTrees = trees.filter((t) => t.label !== 'root');
  const inner = await write(innerTrees);
  const written = innerTrees.filter((t) => inner.some((r) => r.tree === t.dir));
  const nestedIn = (outer: ListedTree) =>
    written.flatMap((t) => {
      const path = nestedPath(outer.dir, t.dir);
      return path === undefined ? [] : [{ path, timeList: join(t.dir, t.timeList) }];
    });
  const results = [
    ...inner,
    ...(await write(
      trees.filter((t) => t.label === 'root'),
      nestedIn,
    )),
  ];
  await dropJournalEntries(journalFile(run.stateDir), journal);
  return results;
}
