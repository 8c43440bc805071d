import { findRecords } from './create-filelist.ts';

/** One entry of a directory as getdents gives it: no stat needed. */
export interface ListedName {
  ino: string;
  /** find's %y letter from the entry's d_type (find stats only where the file system gives none). */
  type: string;
  name: string;
}

/** Start points per find run, well under the argument-size limit. */
const ARGS_BYTES = 64 * 1024;

/**
 * The direct entries of tree-relative directories (`''` is the tree), with their inode numbers
 * and types, read with one find per batch of directories: getdents only, no stat per entry
 * (Node's readdir gives no inode number). Names come sorted, so output built from them is
 * deterministic.
 */
export async function listDirs(tree: string, dirs: readonly string[]): Promise<Map<string, ListedName[]>> {
  const listed = new Map<string, ListedName[]>(dirs.map((dir) => [dir, []]));
  for (let i = 0; i < dirs.length; ) {
    const starts: string[] = [];
    for (let bytes = 0; i < dirs.length && (starts.length === 0 || bytes < ARGS_BYTES); i++) {
      // './' in front: a name starting with '-' is never taken for an option.
      const start = dirs[i] === '' ? '.' : `./${dirs[i]}`;
      starts.push(start);
      bytes += start.length + 1;
    }
    await findRecords(
      tree,
      [...starts, '-mindepth', '1', '-maxdepth', '1', '-printf', '%i\\t%y\\t%p\\0'],
      (r) => {
        const t1 = r.indexOf('\t');
        const path = r.slice(t1 + 3);
        const slash = path.lastIndexOf('/');
        const parent = path.slice(0, slash);
        const entries = listed.get(parent === '.' ? '' : parent.slice(2));
        if (!entries) throw new Error(`find listed ${path}, outside the directories asked for`);
        entries.push({ ino: r.slice(0, t1), type: r.charAt(t1 + 1), name: path.slice(slash + 1) });
      },
    );
  }
  for (const entries of listed.values())
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return listed;
}

/** A directory's cached entry block (`ino\tname` lines) as name to inode. */
export function inodesOf(block: string | undefined): Map<string, string> {
  const inodes = new Map<string, string>();
  if (!block) return inodes;
  for (let at = 0; at < block.length; ) {
    const nl = block.indexOf('\n', at);
    const tab = block.indexOf('\t', at);
    inodes.set(block.slice(tab + 1, nl), block.slice(at, tab));
    at = nl + 1;
  }
  return inodes;
}
