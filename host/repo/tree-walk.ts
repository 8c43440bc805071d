import { existsSync } from 'node:fs';
import { execFile } from '../framework/exec.ts';

/**
 * One entry of a tree as lstat sees it, kept as the strings find printed: sync-to-prod walks a
 * 50,000-file tree on every publish, so fields are only split out when needed.
 */
export interface TreeEntry {
  /** Relative to the walked root, without `./`. */
  path: string;
  /**
   * What `rsync -a` compares and sets, owner aside: `type\tsize\tmtime\tmode\ttarget`. Type is
   * find's %y (`f`, `d`, `l`, …), mtime `seconds.nanoseconds`, mode octal, target a symlink's
   * (may hold any byte but NUL, so it comes last).
   */
  attrs: string;
  /** `dev\tino\tctime\tuid\tgid`: with attrs, the inode facts the hash cache keys on. */
  identity: string;
}

export const entryType = (e: TreeEntry): string => e.attrs.slice(0, e.attrs.indexOf('\t'));

export function entrySize(e: TreeEntry): number {
  const at = e.attrs.indexOf('\t') + 1;
  return Number(e.attrs.slice(at, e.attrs.indexOf('\t', at)));
}

/** A symlink's target: what follows type, size, mtime and mode in attrs. */
export function linkTarget(e: TreeEntry): string {
  let at = -1;
  for (let field = 0; field < 4; field++) at = e.attrs.indexOf('\t', at + 1);
  return e.attrs.slice(at + 1);
}

/**
 * Every entry under `root`, sorted by path, from one `find -printf`: a stat walk in C is
 * several times faster than one from Node. Each entry is three NUL-terminated strings, so no
 * name or link target, whatever it holds, can shift a field.
 */
export async function walkTree(root: string): Promise<TreeEntry[]> {
  if (!existsSync(root)) return [];
  const { stdout } = await execFile(
    ['find', '.', '-mindepth', '1', '-printf', '%P\\0%y\\t%s\\t%T@\\t%m\\t%l\\0%D\\t%i\\t%C@\\t%U\\t%G\\0'],
    { cwd: root },
  );
  const fields = stdout.split('\0');
  const entries: TreeEntry[] = new Array(Math.floor(fields.length / 3));
  for (let i = 0, n = 0; i + 2 < fields.length; i += 3, n++)
    entries[n] = { path: fields[i]!, attrs: fields[i + 1]!, identity: fields[i + 2]! };
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
