import { existsSync } from 'node:fs';
import { PUBLISH_LOCK } from '../../shared/lanes.ts';
import { productionStateDir } from '../filelist/journal.ts';
import { listedTrees, publishOwner, type TreeListResult, writeAllLists } from '../filelist/trees.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import { LockHeldError } from '../framework/locks.ts';
import type { HostOperation } from '../framework/operation.ts';
import { lockOwner } from '../publish/release.ts';

function describeWalk(r: TreeListResult): string {
  if (r.walk === 'full') return `${r.tree}: walked whole (${r.reason}), ${r.entries} entries`;
  const c = r.counts!;
  return `${r.tree}: ${c.reread} of ${r.dirs} directories read again (${c.racy} racy, ${c.journaled} journaled, ${c.removed} removed), ${r.entries} entries`;
}

/** Writes the three trees' lists (inner trees in parallel, then the root); the caller holds the publish lock. */
export async function rewriteFileLists(
  ctx: OperationContext,
  full = false,
  fence?: () => Promise<void>,
): Promise<Record<string, unknown>> {
  const trees = listedTrees(ctx.config, ctx.root);
  const present = trees.filter((t) => existsSync(t.dir));
  const results = await ctx.step(
    `write file lists of ${present.map((t) => `${t.label} (${t.dir})`).join(', ') || 'no tree (none exists)'}`,
    () =>
      writeAllLists(present, {
        stateDir: productionStateDir(ctx.config, ctx.root),
        owner: publishOwner(ctx.config),
        full,
        now: ctx.clock.now(),
        ...(fence ? { fence } : {}),
      }),
  );
  for (const r of results ?? []) ctx.log(describeWalk(r));
  return {
    trees: (results ?? []).map((r) => ({
      tree: r.tree,
      entries: r.entries,
      repomdFiles: r.repomdFiles,
      walk: r.walk,
      ...(r.reason ? { reason: r.reason } : r.counts),
      dirs: r.dirs,
    })),
  };
}

/**
 * file-lists: the publish signal mirrors poll, written last. It takes the publish lock, so it
 * refuses while a production sync (or rollback) runs and no sync can start while it writes.
 */
export const fileLists: HostOperation<'file-lists'> = {
  name: 'file-lists',
  trees: ['compose', 'production'],
  async run(ctx) {
    if (ctx.dryRun) {
      const holder = await ctx.locks.read(PUBLISH_LOCK);
      if (holder)
        ctx.plan.push(
          `(the publish lock is held by ${holder.owner} until ${holder.expiresAt}: a real run would refuse if it still is)`,
        );
      return rewriteFileLists(ctx, ctx.options.full);
    }
    try {
      // A run that lost the publish lock must not replace the lists mirrors read.
      return await ctx.locks.with(PUBLISH_LOCK, lockOwner(ctx), 3600, (lease) =>
        rewriteFileLists(ctx, ctx.options.full, () => lease.check()),
      );
    } catch (err) {
      if (err instanceof LockHeldError)
        throw new HostOperationError(`file-lists refused: a production publish is running (${err.message})`);
      throw err;
    }
  },
};
