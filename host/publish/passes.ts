import { existsSync } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { markProductionDirty } from '../filelist/journal.ts';
import { publishOwner } from '../filelist/trees.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import { replaceSymlink } from '../framework/fsutil.ts';
import type { TreeEntry } from '../repo/tree-walk.ts';
import { installChecked, installRepodata } from './install-repodata.ts';
import { namesIn, sameRepomd } from './repodata.ts';
import type { RollbackStore } from './rollback-record.ts';
import { type ItemizedChange, rsyncCopy } from './rsync.ts';
import { diffTrees, repoDirsOf } from './tree-diff.ts';
import type { VerifiedRecord } from './verified.ts';

/** What the walks found: the changes outside repodata and every repo staging has. */
export interface ChangeScan {
  changes: ItemizedChange[];
  stagingFiles: number;
  /** Repo dirs (holding repodata/) relative to the release: `BaseOS/x86_64/os`. */
  repoDirs: string[];
  /** The same as repodata dirs, as the guard reads them. */
  repodataDirs: string[];
}

function isTopLevelLink(change: ItemizedChange): boolean {
  return !change.path.includes('/') && change.item[1] === 'L';
}

/**
 * The whole change before anything is written, from one walk of each tree (taken side by side
 * by the caller; staging's also serves the digest re-check): what the packages pass copies and,
 * as `--delete` would, what production has that staging lacks, for the shrink guard. The
 * packages pass then copies exactly that list.
 */
export async function scanChanges(
  ctx: OperationContext,
  staging: string,
  walks: { staging: TreeEntry[]; production: TreeEntry[] },
): Promise<ChangeScan> {
  const owner = publishOwner(ctx.config);
  const { changes, stagingFiles } = diffTrees(
    walks.staging,
    walks.production,
    owner ? `${owner.uid}:${owner.gid}` : undefined,
  );
  const repoDirs = repoDirsOf(walks.staging);
  for (const repo of repoDirs) {
    // Fail closed before anything changes: an unsigned repomd.xml is never published.
    if (!existsSync(join(staging, repo, 'repodata', 'repomd.xml.asc')))
      throw new HostOperationError(
        `${join(staging, repo, 'repodata')}/repomd.xml has no signature (repomd.xml.asc)`,
      );
  }
  return {
    changes,
    stagingFiles,
    repoDirs,
    repodataDirs: repoDirs.map((d) => join(d, 'repodata')),
  };
}

/** Pass 1: packages and every other non-metadata file, exactly the scan's list, no delete. */
export async function publishPackages(
  ctx: OperationContext,
  staging: string,
  production: string,
  scan: ChangeScan,
): Promise<string[]> {
  // A directory whose only change is its mtime (its contents changed in an earlier run) is left.
  const list = scan.changes
    .filter((c) => c.item !== '*deleting' && !isTopLevelLink(c) && !c.item.startsWith('.d'))
    .map((c) => c.path);
  if (!list.length) {
    ctx.log('packages pass: nothing to copy');
    return [];
  }
  const copied = new Set(list);
  // Files production already has are replaced or their times or modes set in place: file-lists
  // is told (a replaced name's new inode number could be its old one, freed and reused).
  await markProductionDirty(
    ctx,
    scan.changes
      .filter((c) => c.previousSize !== undefined && copied.has(c.path))
      .map((c) => join(production, c.path)),
  );
  await ctx.run(
    [...rsyncCopy(ctx), '--mkpath', '--files-from=-', '--from0', `${staging}/`, `${production}/`],
    { input: `${list.join('\0')}\0` },
  );
  return list;
}

/**
 * Pass 2, per repo whose repomd.xml or signature differs: record production's repodata for
 * rollback; copy its metadata outside the tree and check every file against the verified
 * record; rename the new metadata files in (nothing names them yet), then repomd.xml and .asc;
 * remove files the new repomd no longer names. Killed anywhere, each repomd.xml names files
 * that exist, and nothing partial or unverified is under the tree.
 */
export async function publishMetadata(
  ctx: OperationContext,
  staging: string,
  production: string,
  scan: ChangeScan,
  store: RollbackStore,
  verified: VerifiedRecord,
): Promise<string[]> {
  const digest = verified.digest;
  const changed: string[] = [];
  for (const repo of scan.repoDirs) {
    if (!(await sameRepomd(join(staging, repo, 'repodata'), join(production, repo, 'repodata'))))
      changed.push(repo);
  }
  if (!changed.length) {
    ctx.log('metadata pass: every repomd.xml is already published');
    return changed;
  }
  await ctx.step(`record the repodata of ${changed.length} repo(s) for rollback`, async () => {
    const record = (await store.load(digest)) ?? {
      version: 1 as const,
      digest,
      productionDir: production.slice(production.lastIndexOf('/') + 1),
      startedAt: ctx.clock.now().toISOString(),
      repos: [],
    };
    await store.save(record);
    for (const repo of changed)
      await store.recordRepodata(record, join(production, repo, 'repodata'), join(repo, 'repodata'));
    await store.markLast(digest);
  });
  const approved = new Map(verified.files.map((f) => [f.path, f.sha256]));
  await installRepodata(
    ctx,
    staging,
    production,
    changed.map((repo) => join(repo, 'repodata')),
    { expected: (path) => approved.get(path) },
  );
  return changed;
}

/**
 * Pass 3: top-level links (nfv, devel, live) swapped atomically, each only to its verified
 * target; then COMPOSE_ID and metadata/, checked outside the tree and renamed in.
 */
export async function publishLinksAndComposeInfo(
  ctx: OperationContext,
  staging: string,
  production: string,
  verified: VerifiedRecord,
): Promise<void> {
  const approvedLinks = new Map(verified.symlinks.map((l) => [l.path, l.target]));
  for (const name of await namesIn(staging)) {
    const info = await lstat(join(staging, name));
    if (!info.isSymbolicLink()) continue;
    const target = await readlink(join(staging, name));
    if (approvedLinks.get(name) !== target)
      throw new HostOperationError(
        `${join(staging, name)} -> ${target} changed during the publish: verified ${approvedLinks.get(name) ?? 'no such link'}`,
      );
    const current = await readlink(join(production, name)).catch(() => undefined);
    if (current !== target)
      await ctx.step(`link ${name} -> ${target} in production`, () =>
        replaceSymlink(target, join(production, name)),
      );
  }
  const composeFiles = verified.files
    .map((f) => f.path)
    .filter((p) => p === 'COMPOSE_ID' || p.startsWith('metadata/'));
  const approved = new Map(verified.files.map((f) => [f.path, f.sha256]));
  await installChecked(ctx, staging, production, [composeFiles], { expected: (path) => approved.get(path) });
}
