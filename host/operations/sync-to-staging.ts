import { join } from 'node:path';
import { latestLinkName } from '../../shared/release.ts';
import { HostOperationError } from '../framework/context.ts';
import type { HostOperation } from '../framework/operation.ts';
import { selectedRelease } from '../publish/release.ts';
import { withLaneLock } from '../repo/lane-lock.ts';
import { readStaged, recordStaged, relengDir } from '../repo/staged.ts';
import { depthTwoUnits, finishedCompose, syncTopLevel, syncTree } from '../repo/sync.ts';

const SYNC_LOCK_TTL = 8 * 3600;

/**
 * What staging itself adds inside a compose's `<Variant>/<arch>` units, which a deleting sync
 * must keep: the golden kickstart tree minor-release freezes, and the extended treeinfo that
 * prep-staging restores after every sync (minor-release.ts, prep-staging.ts).
 */
const STAGING_ADDITIONS = ['/*/*/kickstart/', '/*/*/os/.treeinfo-pristine'];

/**
 * sync-to-staging: one compose's latest- tree into `…/rocky/<version><suffix>/`, packages before
 * repodata. Rocky 8 does not delete (the older packages stay, as in the seed's
 * sync-to-staging.sh); Rocky 9 (`stagingSyncDeletes`) deletes, as its SOP's
 * sync-to-staging.delete.sh: inside each synced `<Variant>/<arch>` unit only, after the unit's
 * repodata landed, sparing STAGING_ADDITIONS; other repos and top-level entries stay. The main compose (the last of
 * stagingOrder) also brings COMPOSE_ID and metadata/, which the seed's copy never did.
 */
export const syncToStaging: HostOperation<'sync-to-staging'> = {
  name: 'sync-to-staging',
  trees: ['compose', 'staging'],
  async run(ctx) {
    const { release, paths } = selectedRelease(ctx);
    const name = ctx.options.compose;
    const composes = release.settings.composes;
    if (!composes[name])
      throw new HostOperationError(
        `compose ${JSON.stringify(name)} is not one of ${Object.keys(composes).join(', ')}`,
      );
    const lane = { major: release.major, compose: name };
    return withLaneLock(ctx, lane, SYNC_LOCK_TTL, async () => {
      const link = join(paths.composeRoot, latestLinkName(name, release.major));
      const source = await finishedCompose(link, `sync-to-staging ${name}`);
      const staged = await readStaged(paths, release.stagingDirName);
      if (staged.composes[name]?.composeId === source.composeId) {
        // Synced to the end before: syncing again would put the compose's own repodata back
        // over what prep, updateinfo and signing made of it.
        ctx.log(`${source.composeId} is already staged in ${release.stagingDirName}; nothing to do`);
        return { composeId: source.composeId, stagingDir: paths.stagingRelease, alreadyStaged: true };
      }
      ctx.log(`syncing ${source.composeId} into ${paths.stagingRelease}`);
      const tree = join(source.composeDir, 'compose');
      const sync = {
        source: tree,
        target: paths.stagingRelease,
        units: await depthTwoUnits(tree, ['metadata']),
        deleteMissing: release.settings.stagingSyncDeletes,
        protect: STAGING_ADDITIONS,
        tempDir: join(relengDir(paths), 'rsync-tmp', `${release.major}-${name}`),
      };
      const copied = await syncTree(ctx, sync);
      const main = release.settings.stagingOrder.at(-1) === name;
      if (main)
        await syncTopLevel(ctx, sync, [
          { from: join(source.composeDir, 'COMPOSE_ID'), name: 'COMPOSE_ID' },
          { from: join(tree, 'metadata'), name: 'metadata' },
        ]);
      await ctx.step(`record ${source.composeId} as staged in ${release.stagingDirName}`, () =>
        recordStaged(paths, release.stagingDirName, name, source.composeId, ctx.clock.now()),
      );
      return { composeId: source.composeId, stagingDir: paths.stagingRelease, ...copied, topLevel: main };
    });
  },
};
