import { join } from 'node:path';
import { errorMessage } from '../../shared/errors.ts';
import { releasePaths, resolveRelease, sigLatestLinkName, sigRecordName } from '../../shared/release.ts';
import { HostOperationError } from '../framework/context.ts';
import type { HostOperation } from '../framework/operation.ts';
import { withLaneLock } from '../repo/lane-lock.ts';
import { recordStaged, relengDir } from '../repo/staged.ts';
import { depthTwoUnits, finishedCompose, syncTree } from '../repo/sync.ts';

/**
 * sync-to-staging-sig: a SIG compose (`latest-SIG-<sig>-<major>`) into the staging SIG tree
 * (`mirror/pub/sig/`), with delete as the seed does; deletes run after the new repodata landed.
 */
export const syncToStagingSig: HostOperation<'sync-to-staging-sig'> = {
  name: 'sync-to-staging-sig',
  trees: ['compose', 'staging'],
  async run(ctx) {
    const { major, sig } = ctx.options;
    let release: ReturnType<typeof resolveRelease>;
    try {
      release = resolveRelease(ctx.config, { major });
    } catch (err) {
      throw new HostOperationError(`sync-to-staging-sig: ${errorMessage(err)}`);
    }
    const sigs = release.settings.sigComposes;
    if (!sigs[sig])
      throw new HostOperationError(
        `SIG ${JSON.stringify(sig)} is not one of ${Object.keys(sigs).join(', ') || '(none configured)'}`,
      );
    const paths = releasePaths(ctx.config, ctx.root, release);
    return withLaneLock(ctx, { major, compose: `SIG-${sig}` }, 8 * 3600, async () => {
      const link = join(paths.composeRoot, sigLatestLinkName(sig, major));
      const source = await finishedCompose(link, `sync-to-staging-sig ${sig}`);
      const tree = join(source.composeDir, 'compose');
      const copied = await syncTree(ctx, {
        source: tree,
        target: paths.stagingSig,
        units: await depthTwoUnits(tree, ['metadata']),
        deleteMissing: true,
        tempDir: join(relengDir(paths), 'rsync-tmp', `${major}-SIG-${sig}`),
      });
      // verify-staging --sig names this compose in the SIG release's summary.
      await ctx.step(`record ${source.composeId} as staged for SIG ${sig}`, () =>
        recordStaged(paths, sigRecordName(major, sig), `SIG-${sig}`, source.composeId, ctx.clock.now()),
      );
      return { composeId: source.composeId, target: paths.stagingSig, ...copied };
    });
  },
};
