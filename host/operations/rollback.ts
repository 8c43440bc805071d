import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PUBLISH_LOCK } from '../../shared/lanes.ts';
import { HOST_OPERATIONS } from '../../shared/operations.ts';
import { HostOperationError } from '../framework/context.ts';
import type { LockLease } from '../framework/locks.ts';
import type { HostOperation } from '../framework/operation.ts';
import { installRepodata } from '../publish/install-repodata.ts';
import { lockOwner, selectedRelease } from '../publish/release.ts';
import { RollbackStore, rollbackRoot } from '../publish/rollback-record.ts';
import { resetPublishTemp } from '../publish/rsync.ts';
import { rewriteFileLists } from './file-lists.ts';

/**
 * rollback: puts back the repodata (and signature) of every repo the last publish of this
 * release replaced, in the same mirror-safe order as a publish, then rewrites the file lists.
 * Packages are never deleted from the main tree, so the old metadata is valid again. A repo the
 * publish created (no repodata before) loses its repodata: it was not published before.
 */
export const rollback: HostOperation<'rollback'> = {
  name: 'rollback',
  trees: ['compose', 'production'],
  async run(ctx) {
    const { release, paths } = selectedRelease(ctx);
    const store = new RollbackStore(rollbackRoot(ctx.config, ctx.root, release.productionDirName));
    const record = await store.last();
    if (!record)
      throw new HostOperationError(
        `rollback: no publish of ${release.productionDirName} is recorded to roll back`,
      );
    if (record.rolledBackAt) {
      // Marked only once the restore is done: a rerun after a kill mid-restore still restores.
      ctx.log(`already rolled back at ${record.rolledBackAt}; nothing to undo`);
      return { digest: record.digest, alreadyRolledBack: record.rolledBackAt, restored: [], removed: [] };
    }
    const restore = async (lease?: LockLease) => {
      const production = paths.productionRelease;
      // The fencing check: a run that lost the publish lock must not change what mirrors read.
      const fence = async () => lease?.check();
      await resetPublishTemp(ctx);
      const present = record.repos.filter((r) => !r.absent).map((r) => r.repodata);
      const absent = record.repos.filter((r) => r.absent).map((r) => r.repodata);
      await installRepodata(ctx, store.savedRoot(record.digest), production, present, { fence });
      if (absent.length) await fence();
      for (const repodata of absent) {
        await ctx.step(`remove ${repodata}: the rolled-back publish created it`, async () => {
          // The signature and repomd go first, so no reader finds a repomd without its files.
          await rm(join(production, repodata, 'repomd.xml.asc'), { force: true });
          await rm(join(production, repodata, 'repomd.xml'), { force: true });
          await rm(join(production, repodata), { recursive: true, force: true });
        });
      }
      await ctx.step('mark the record rolled back', () =>
        store.save({ ...record, rolledBackAt: ctx.clock.now().toISOString() }),
      );
      const lists = await rewriteFileLists(ctx, false, fence);
      return { digest: record.digest, restored: present, removed: absent, ...lists };
    };
    if (ctx.dryRun) return restore();
    return ctx.locks.with(PUBLISH_LOCK, lockOwner(ctx), HOST_OPERATIONS.rollback.timeoutSeconds, restore);
  },
};
