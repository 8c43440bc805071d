import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, rename, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode, isErrno } from '../../shared/errors.ts';
import type { OperationContext } from '../framework/context.ts';
import { HostOperationError } from '../framework/context.ts';
import { diffTrees } from '../publish/tree-diff.ts';
import { mapLimit } from './parallel.ts';
import { type TreeEntry, walkTree } from './tree-walk.ts';

/**
 * The packages pass of the staging sync, by exact list. A unit staging does not have yet is
 * copied whole; one it has is walked on both sides (one find each, concurrently) and only what
 * differs is copied (publish/tree-diff.ts, rsync's quick check). rsync copies the list into a
 * shadow dir outside the tree (plain: no --temp-dir, whose path rsync 3.5 resolves again for
 * every file, four times the round trips of a plain copy), and once a batch's rsync has exited
 * each listed file, or new dir whole, is renamed into place. A killed sync leaves its partial
 * files in the shadow, which the next run clears: the tree only ever gets complete files.
 */

export interface ListCopy {
  source: string;
  target: string;
  units: string[];
  /** The units spread over the rsyncs that run at once. */
  batches: string[][];
  /** On the target's file system, outside the tree; cleared by the caller. */
  shadow: string;
  /** `rsync -a` and the owner options, no paths. */
  rsync: string[];
  /** `uid:gid` the copy sets (rsync --chown), when it sets one. */
  owner?: { uid: number; gid: number };
  jobs: number;
}

/** Prefixes a unit's walk with its path, so the diff sees paths as the sync does. */
const under = (unit: string, entries: TreeEntry[]) =>
  entries.map((e) => ({ ...e, path: `${unit}/${e.path}` }));

/** What one unit needs copied: the unit whole, or its changed files and new dirs (topmost only). */
async function unitList(copy: ListCopy, unit: string): Promise<string[]> {
  if (!existsSync(join(copy.target, unit))) return [unit];
  const [staged, present] = await Promise.all([
    walkTree(join(copy.source, unit)),
    walkTree(join(copy.target, unit)),
  ]);
  const owner = copy.owner ? `${copy.owner.uid}:${copy.owner.gid}` : undefined;
  const { changes } = diffTrees(under(unit, staged), under(unit, present), owner);
  const list: string[] = [];
  let newDir: string | undefined;
  for (const change of changes) {
    if (change.item === '*deleting') continue; // deletes are the repodata pass's (Rocky 9, SIGs)
    const path = change.path.endsWith('/') ? change.path.slice(0, -1) : change.path;
    if (newDir !== undefined && path.startsWith(`${newDir}/`)) continue; // copied with it
    if (change.item.startsWith('cd')) newDir = path;
    list.push(path);
  }
  return list;
}

/** Renames the copied entries from the shadow into the tree, parents made as needed. */
async function renameIntoPlace(copy: ListCopy, list: string[]): Promise<void> {
  const touched = new Set<string>();
  for (const path of list) {
    const parent = dirname(path);
    if (parent !== '.' && !touched.has(parent)) {
      await makeParents(copy, parent, touched);
      touched.add(parent);
    }
    try {
      await rename(join(copy.shadow, path), join(copy.target, path));
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'ENOTEMPTY' || code === 'EEXIST')
        throw new HostOperationError(
          `${join(copy.target, path)}: staging has another kind of entry there than the compose (${code}); remove it and sync again`,
        );
      throw err;
    }
  }
  // Renaming into a directory moved its mtime, and a directory renamed to a new parent has its
  // own moved too (its `..` changed): both back to the compose's, as rsync -a leaves them.
  for (const path of list) await copyDirTimes(copy, path, { onlyDirs: true });
  for (const dir of [...touched].reverse()) await copyDirTimes(copy, dir);
}

/** Makes a missing parent in the tree as rsync would: the compose dir's mode, owner and times. */
async function makeParents(copy: ListCopy, dir: string, made: Set<string>): Promise<void> {
  if (existsSync(join(copy.target, dir))) return;
  const above = dirname(dir);
  if (above !== '.') await makeParents(copy, above, made);
  made.add(dir);
  const info = await lstat(join(copy.source, dir));
  try {
    await mkdir(join(copy.target, dir), { mode: info.mode & 0o7777 });
  } catch (err) {
    // Another batch made it meanwhile (units of one variant may sit in different batches).
    if (isErrno(err, 'EEXIST')) return;
    throw err;
  }
  await chmod(join(copy.target, dir), info.mode & 0o7777); // mkdir's mode went through the umask
  if (copy.owner) await chown(join(copy.target, dir), copy.owner.uid, copy.owner.gid);
}

async function copyDirTimes(
  copy: ListCopy,
  dir: string,
  options: { onlyDirs?: boolean } = {},
): Promise<void> {
  const info = await lstat(join(copy.source, dir));
  if (options.onlyDirs && !info.isDirectory()) return;
  await utimes(join(copy.target, dir), info.atime, info.mtime);
}

/** Copies the units' changes (repodata aside) into the tree; returns how many entries were listed. */
export async function copyByList(ctx: OperationContext, copy: ListCopy): Promise<number> {
  const lists = await ctx.step(
    `compare ${copy.units.length} unit(s) of ${copy.source} with ${copy.target}`,
    () => mapLimit(copy.units, copy.jobs, (unit) => unitList(copy, unit)),
  );
  // Whole units go by path (--relative), the rest by list: rsync reads a --files-from list
  // with more round trips per file than the same files named as its arguments.
  const argvFor = (whole: string[], listed: boolean) => [
    ...copy.rsync,
    '--exclude=repodata/',
    ...(listed ? ['-r', '--files-from=-', '--from0', `${copy.source}/`] : ['--relative']),
    ...whole.map((unit) => `${copy.source}/./${unit}`),
    `${copy.shadow}/`,
  ];
  if (!lists) {
    // Dry run: which entries a batch lists is only known from the walks it skips.
    for (const batch of copy.batches) await ctx.run(argvFor(batch, false));
    return 0;
  }
  await mkdir(copy.shadow, { recursive: true });
  const byUnit = new Map(copy.units.map((unit, i) => [unit, lists[i]!]));
  let listed = 0;
  await mapLimit(copy.batches, copy.jobs, async (batch) => {
    const whole = batch.filter((unit) => byUnit.get(unit)![0] === unit);
    const partial = batch.filter((unit) => !whole.includes(unit)).flatMap((unit) => byUnit.get(unit)!);
    const list = [...whole, ...partial];
    if (list.length === 0) return;
    listed += list.length;
    if (whole.length) await ctx.run(argvFor(whole, false));
    if (partial.length) await ctx.run(argvFor([], true), { input: `${partial.join('\0')}\0` });
    await ctx.step(
      `rename ${list.length} copied entr${list.length === 1 ? 'y' : 'ies'} into ${copy.target}`,
      () => renameIntoPlace(copy, list),
    );
  });
  return listed;
}
