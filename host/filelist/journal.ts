import { realpathSync } from 'node:fs';
import { appendFile, mkdir, open, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { isErrno } from '../../shared/errors.ts';
import type { OperationContext } from '../framework/context.ts';

/**
 * The dirty-path journal: the changes file-lists' directory stamps cannot see.
 *
 * Contract for every tool that writes to production:
 * - Before changing a file in place (a write without rename, an mtime-only update such as rsync
 *   `--checksum` or `--inplace` makes, `utimes`), call `markProductionDirty` with its absolute
 *   path. Before, not after: a writer killed halfway leaves the entry behind, which only makes
 *   the next file-lists run read a little more.
 * - Adding, removing or renaming an entry (rsync's temp file renamed into place included) needs no
 *   entry: it moves its directory's mtime and ctime, which file-lists compares anyway.
 * - A path names one entry: file-lists reads its directory's entries again (and the directory's
 *   own entries, when the path is a directory), not a whole subtree; name each changed file, or
 *   each directory whose files changed.
 * - Paths go through symlinks as they are on disk (the parent is resolved when read).
 * file-lists empties the journal only after every tree's lists were written. Production writers
 * and file-lists both hold the publish lock, so no entry is written while it runs.
 */
export function productionStateDir(config: ReleaseConfig, root: string): string {
  return join(root, config.mounts.production, '.releng');
}

export function journalFile(stateDir: string): string {
  return join(stateDir, 'filelist-journal');
}

/** Appends paths about to change in place to the journal (write-ahead); nothing in a dry run. */
export async function markProductionDirty(ctx: OperationContext, absolutePaths: string[]): Promise<void> {
  if (ctx.dryRun || absolutePaths.length === 0) return;
  for (const path of absolutePaths)
    if (!isAbsolute(path) || path.includes('\n'))
      throw new Error(`markProductionDirty: not an absolute one-line path: ${JSON.stringify(path)}`);
  const stateDir = productionStateDir(ctx.config, ctx.root);
  await mkdir(stateDir, { recursive: true });
  await appendFile(journalFile(stateDir), absolutePaths.map((p) => `${resolve(p)}\n`).join(''));
}

/** What one file-lists run read from the journal: its paths and how many bytes they took. */
export interface JournalSnapshot {
  paths: string[];
  bytes: number;
}

export async function readJournal(file: string): Promise<JournalSnapshot> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { paths: [], bytes: 0 };
    throw err;
  }
  // Only whole lines count; a torn last line stays for the next run.
  const bytes = data.lastIndexOf(10) + 1;
  const paths = data
    .toString('utf8', 0, bytes)
    .split('\n')
    .filter((p) => isAbsolute(p));
  return { paths, bytes };
}

/** Drops the entries a run has read, keeping any appended since. */
export async function dropJournalEntries(file: string, snapshot: JournalSnapshot): Promise<void> {
  if (snapshot.bytes === 0) return;
  const handle = await open(file, 'r');
  let rest: Buffer;
  try {
    const { size } = await handle.stat();
    rest = Buffer.alloc(Math.max(0, size - snapshot.bytes));
    if (rest.length) await handle.read(rest, 0, rest.length, snapshot.bytes);
  } finally {
    await handle.close();
  }
  if (rest.length === 0) return truncate(file, 0);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, rest);
  await rename(temp, file).finally(() => rm(temp, { force: true }));
}

/**
 * The tree-relative directories journal entries make dirty: each path's parent, and the path
 * itself in case it is a directory. Parents are resolved, so a path through a symlink names the
 * directory the entry really is in.
 */
export function dirtyDirsIn(tree: string, paths: string[]): Set<string> {
  const dirty = new Set<string>();
  if (paths.length === 0) return dirty;
  const realTree = realpathSync(tree);
  const realParents = new Map<string, string>();
  for (const path of paths) {
    const parent = dirname(path);
    let realParent = realParents.get(parent);
    if (realParent === undefined) {
      try {
        realParent = realpathSync(parent);
      } catch {
        realParent = parent; // gone: whatever removed it moved a stamp above it
      }
      realParents.set(parent, realParent);
    }
    const real = join(realParent, basename(path));
    if (real === realTree) dirty.add('');
    else if (real.startsWith(`${realTree}/`)) {
      const rel = real.slice(realTree.length + 1);
      dirty.add(rel);
      dirty.add(rel.slice(0, Math.max(0, rel.lastIndexOf('/'))));
    }
  }
  return dirty;
}
