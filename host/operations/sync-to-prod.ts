import { existsSync } from 'node:fs';
import { PUBLISH_LOCK } from '../../shared/lanes.ts';
import { HOST_OPERATIONS } from '../../shared/operations.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import type { HostOperation } from '../framework/operation.ts';
import { describeShrink, measureShrink } from '../publish/guard.ts';
import { hardlinkTree } from '../publish/hardlink.ts';
import {
  type ChangeScan,
  publishLinksAndComposeInfo,
  publishMetadata,
  publishPackages,
  scanChanges,
} from '../publish/passes.ts';
import { lockOwner, selectedRelease } from '../publish/release.ts';
import { RollbackStore, rollbackRoot } from '../publish/rollback-record.ts';
import { resetPublishTemp } from '../publish/rsync.ts';
import { computeStagedContent, contentDigest, hashCacheFiles, readHashCache } from '../repo/manifest.ts';

/**
 * sync-to-prod: staging `…/rocky/8.10-RC1` → production `…/rocky/8.10`, only if staging is the
 * content the approval named, in an order mirrors can read at any moment:
 *   1. every package and other file, no delete;
 *   2. each repo's repodata: new metadata files, then repomd.xml and its .asc together, then the
 *      files the new repomd no longer names (the replaced ones are recorded for rollback first);
 *   3. the top-level links, COMPOSE_ID and metadata/;
 *   4. hardlink identical files, never the ones edited in place.
 * A publish that deletes or shrinks more than maxShrinkFraction needs --allow-shrink REASON.
 */
/** Computes the digest of what is staged now, the way verify-staging computed the approved one. */
export type StagingDigest = (ctx: OperationContext, stagingRelease: string) => Promise<string>;

export function syncToProdWith(stagingDigest: StagingDigest): HostOperation {
  return {
    name: 'sync-to-prod',
    trees: ['compose', 'staging', 'production'],
    run: (ctx) => syncToProdRun(ctx, stagingDigest),
  };
}

/**
 * verify-staging's digest, recomputed from the staged tree: every file is stat'ed, and every
 * file whose inode facts differ from verify-staging's hash cache is read again.
 */
export const recomputedStagingDigest: StagingDigest = async (ctx, stagingRelease) => {
  const { release, paths } = selectedRelease(ctx);
  const cache = await readHashCache(hashCacheFiles(paths, release).staging);
  return contentDigest(await computeStagedContent(stagingRelease, { cache }));
};

export const syncToProd = syncToProdWith(recomputedStagingDigest);

async function syncToProdRun(
  ctx: OperationContext,
  stagingDigest: StagingDigest,
): Promise<Record<string, unknown>> {
  const { release, paths } = selectedRelease(ctx);
  if (!release.publishable)
    throw new HostOperationError(
      `sync-to-prod refuses the ${release.channel} channel: only publishable channels go to production`,
    );
  const staging = paths.stagingRelease;
  const production = paths.productionRelease;
  if (!existsSync(staging)) throw new HostOperationError(`staging release ${staging} does not exist`);
  const approved = ctx.options['approved-digest'] as string;
  const publish = async () => {
    const start = performance.now();
    // The digest reads every staged byte; the dry run, which only reads too, runs alongside it.
    const [digest, scan] = await Promise.allSettled([
      stagingDigest(ctx, staging),
      scanChanges(ctx, staging, production),
    ]);
    if (digest.status === 'rejected') throw digest.reason;
    if (digest.value !== approved)
      throw new HostOperationError(
        `staging ${staging} is not the approved content: its digest is ${digest.value}, the approval named ${approved}; production untouched`,
      );
    if (scan.status === 'rejected') throw scan.reason;
    const verified = performance.now();
    const result = await publishRelease(
      ctx,
      staging,
      production,
      approved,
      release.productionDirName,
      scan.value,
    );
    const seconds = (from: number) => (performance.now() - from) / 1000;
    return { ...result, seconds: { verifyAndScan: (verified - start) / 1000, publish: seconds(verified) } };
  };
  if (ctx.dryRun) return publish();
  return ctx.locks.with(
    PUBLISH_LOCK,
    lockOwner(ctx),
    HOST_OPERATIONS['sync-to-prod'].timeoutSeconds,
    publish,
  );
}

async function publishRelease(
  ctx: OperationContext,
  staging: string,
  production: string,
  digest: string,
  productionDir: string,
  scan: ChangeScan,
): Promise<Record<string, unknown>> {
  const shrink = await measureShrink(scan.changes, scan.stagingFiles, staging, production, scan.repodataDirs);
  const allowShrink = ctx.options['allow-shrink'] as string | undefined;
  if (shrink.worstFraction > ctx.config.maxShrinkFraction) {
    const what = `${describeShrink(shrink)}: ${(shrink.worstFraction * 100).toFixed(1)}% > ${(ctx.config.maxShrinkFraction * 100).toFixed(1)}% allowed`;
    if (!allowShrink)
      throw new HostOperationError(
        `sync-to-prod refused: ${what}; rerun with --allow-shrink REASON if intended`,
      );
    ctx.log(`allowed shrink (${allowShrink}): ${what}`);
  }
  await resetPublishTemp(ctx);
  const store = new RollbackStore(rollbackRoot(ctx.config, ctx.root, productionDir));
  const packages = await publishPackages(ctx, staging, production, scan);
  const metadata = await publishMetadata(ctx, staging, production, scan, store, digest);
  await publishLinksAndComposeInfo(ctx, staging, production);
  const copiedFiles = packages.filter((p) => !p.endsWith('/'));
  const hardlinked = await ctx.step(`hardlink identical files in ${production}`, () =>
    hardlinkTree(ctx, production, copiedFiles),
  );
  await ctx.step('mark the publish complete in its rollback record', async () => {
    const record = await store.load(digest);
    if (record && !record.completedAt)
      await store.save({ ...record, completedAt: ctx.clock.now().toISOString() });
  });
  return {
    staging,
    production,
    digest,
    filesPublished: copiedFiles.length,
    hardlinked,
    reposUpdated: metadata,
    shrink: { ...shrink, allowedBecause: allowShrink },
  };
}
