import { statSync } from 'node:fs';
import { findRecords } from './create-filelist.ts';
import { type DirStamp, stampOf } from './dir-cache.ts';
import {
  findTimeNs,
  isListed,
  isRepomd,
  RSYNC_TEMP,
  type TreeScan,
  walksInto,
  wholeSeconds,
} from './format.ts';
import type { ListDraft } from './list-draft.ts';

/** One line of find output for an entry (inode first); directories carry their stamp in front. */
const RECORD = '%i\t%T@\t%y\t%s\t%P\\0';
const DIR_RECORD = `D%D\t%C@\t${RECORD}`;

/** A find pattern matching `path` itself (glob characters escaped). */
const exactPattern = (path: string) => `./${path.replace(/[*?[\]\\]/g, '\\$&')}`;

function findArgs(prune: readonly string[]): string[] {
  // A nested tree's directory gets its own line, but find does not go into it.
  const nested = prune.flatMap((path) => [
    '-path',
    exactPattern(path),
    '-printf',
    DIR_RECORD,
    '-prune',
    '-o',
  ]);
  return [
    '.',
    '-mindepth',
    '1',
    // Nothing under an rsync holding dir is listed: do not even read it.
    '-name',
    `*${RSYNC_TEMP}*`,
    '-prune',
    '-o',
    ...nested,
    '-type',
    'd',
    '-printf',
    DIR_RECORD,
    '-o',
    '-printf',
    RECORD,
  ];
}

/** Adds `ino\tname` of a file or link to its directory's entry block. */
export function noteEntry(entries: Map<string, string[]>, dir: string, ino: string, name: string): void {
  const block = entries.get(dir);
  if (block) block.push(`${ino}\t${name}`);
  else entries.set(dir, [`${ino}\t${name}`]);
}

/**
 * Walks the whole tree with find, writing every listed entry to the draft, stamping every
 * directory and noting each file's inode. Directories in `prune` (tree-relative: nested trees
 * with lists of their own) get their line and stamp, nothing under them.
 */
export async function fullWalk(
  tree: string,
  draft: ListDraft,
  prune: readonly string[] = [],
): Promise<TreeScan> {
  // Stamped before find reads it, as find stamps every directory before reading it: a change
  // made while the walk runs moves a stamp the next run compares. (find starts in the tree
  // itself, through a symlink if it is one.)
  const scan: TreeScan = {
    dirs: new Map([['', stampOf(statSync(tree, { bigint: true }))]]),
    repomds: [],
    checksums: [],
    cacheable: true,
  };
  const entries = new Map<string, string[]>();
  await findRecords(tree, findArgs(prune), (record) => {
    let rest = record;
    let dir: { dev: string; ctime: string } | undefined;
    if (record.charCodeAt(0) === 68 /* D: a directory's stamp first */) {
      const t1 = record.indexOf('\t');
      const t2 = record.indexOf('\t', t1 + 1);
      dir = { dev: record.slice(1, t1), ctime: record.slice(t1 + 1, t2) };
      rest = record.slice(t2 + 1);
    }
    // `<ino>\t<mtime>\t<type letter>\t<size>\t<path>`
    const t0 = rest.indexOf('\t');
    const ino = rest.slice(0, t0);
    const tab = rest.indexOf('\t', t0 + 1);
    const type = rest.charAt(tab + 1);
    const path = rest.slice(rest.indexOf('\t', tab + 3) + 1);
    const slash = path.lastIndexOf('/');
    const name = path.slice(slash + 1);
    if (dir && walksInto(path)) {
      const stamp: DirStamp = {
        dev: dir.dev,
        ino,
        mtimeNs: findTimeNs(rest.slice(t0 + 1, tab)),
        ctimeNs: findTimeNs(dir.ctime),
      };
      scan.dirs.set(path, stamp);
      if (path.includes('\uFFFD')) scan.cacheable = false;
    }
    if (!isListed(path, name, type)) return;
    if (type !== 'd') noteEntry(entries, slash < 0 ? '' : path.slice(0, slash), ino, name);
    if (isRepomd(name, type)) scan.repomds.push(path);
    draft.add(`${wholeSeconds(rest.slice(t0 + 1, tab))}${rest.slice(tab)}`, path);
  });
  scan.entries = new Map([...entries].map(([dir, lines]) => [dir, `${lines.join('\n')}\n`]));
  return scan;
}
