import { basename, join } from 'node:path';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { type TreeListNames, type TreeListResult, writeTreeLists } from './create-filelist.ts';

/** One tree mirrors pull, and the names its lists go under. */
export interface ListedTree extends TreeListNames {
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

/** The owner of published files, applied only when we may chown (running as root). */
export function publishOwner(config: ReleaseConfig): { uid: number; gid: number } | undefined {
  return process.getuid?.() === 0 ? config.owner : undefined;
}

/**
 * Writes every tree's lists, the inner trees at once, then the root; a tree that does not exist
 * yet is skipped. `tempDir`, on the production file system but outside the trees, holds the
 * lists while they are written.
 */
export async function writeAllLists(
  trees: ListedTree[],
  owner: { uid: number; gid: number } | undefined,
  exists: (dir: string) => boolean,
  tempDir?: string,
): Promise<TreeListResult[]> {
  const write = (list: ListedTree[]) =>
    Promise.all(
      list.filter((t) => exists(t.dir)).map((t) => writeTreeLists(t.dir, t, owner, tempDir ?? t.dir)),
    );
  // The root's list names the category and SIG directories with their mtimes, which writing
  // their own lists moves: the root goes last, so its list matches them and a rerun finds
  // nothing to change.
  const inner = await write(trees.filter((t) => t.label !== 'root'));
  return [...inner, ...(await write(trees.filter((t) => t.label === 'root')))];
}
