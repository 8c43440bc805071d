import { lstatSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { type Checksum, isRepomd } from './format.ts';
import type { ListDraft } from './list-draft.ts';
import { readTimeList } from './list-reader.ts';

/** A tree inside another whose own lists were just written: the outer list takes its lines. */
export interface NestedTree {
  /** Its path relative to the outer tree (`rocky`). */
  path: string;
  /** Its time list, as written this run. */
  timeList: string;
}

/**
 * Where `inner` sits inside `outer` as a real directory: the path a walk of `outer` would give
 * its entries. Undefined when it is not inside, or is reached through a symlink (then a walk of
 * `outer` lists the link and walks the target as ordinary directories).
 */
export function nestedPath(outer: string, inner: string): string | undefined {
  const path = relative(outer, inner);
  if (path === '' || path.startsWith('..') || path.startsWith(sep)) return undefined;
  const parts = path.split(sep);
  for (let i = 1; i <= parts.length; i++) {
    const info = lstatSync(join(outer, ...parts.slice(0, i)), { throwIfNoEntry: false });
    if (!info?.isDirectory()) return undefined;
  }
  return parts.join('/');
}

/**
 * Copies a nested tree's [Files] lines into the outer draft under its path, as bytes, and
 * returns its repomd.xml checksums under that path and the SHA-1 of the list read (the outer
 * list's lines under the path are exactly this list's while that SHA-1 holds).
 */
export function copyNestedList(
  nested: NestedTree,
  draft: ListDraft,
): { sha1: string; checksums: Checksum[] } {
  const prefix = Buffer.from(`${nested.path}/`);
  const checksums: Checksum[] = [];
  const sha1 = readTimeList(nested.timeList, {
    file: (buf, start, pathStart, _parentEnd, nl) => draft.addNested(buf, start, pathStart, nl + 1, prefix),
    flush: () => {},
    checksum: (c) => {
      // The nested list's own image list is named there, not in the outer list.
      if (isRepomd(c.path.slice(c.path.lastIndexOf('/') + 1), 'f'))
        checksums.push({ path: `${nested.path}/${c.path}`, sha1: c.sha1 });
    },
  });
  return { sha1, checksums };
}
