import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PUBLISH_LOCK } from '../../shared/lanes.ts';
import { HOST_OPERATIONS } from '../../shared/operations.ts';
import { markProductionDirty } from '../filelist/journal.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import type { LockLease } from '../framework/locks.ts';
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
import {
  copiedMismatches,
  differingPaths,
  loadVerified,
  removeMismatched,
  type VerifiedRecord,
} from '../publish/verified.ts';
import { signatureValid } from '../repo/gpg.ts';
import { computeStagedContent, contentDigest, hashCacheFiles, readHashCache } from '../repo/manifest.ts';
import { mapLimit } from '../repo/parallel.ts';
import { walkTree } from '../repo/tree-walk.ts';

/**
 * sync-to-prod: staging `…/rocky/8.10-RC1` → production `…/rocky/8.10`, only if verify-staging
 * passed exactly the approved digest on this host (its host-local record), staging still hashes
 * to it, and every repomd.xml.asc verifies with the configured key; then, in an order mirrors
 * can read at any moment:
 *   1. every package and other file, no delete; each copied file is then checked in production
 *      against the verified record (staging may change during the copy): a mismatch is removed
 *      and the publish stops before any metadata names it;
 *   2. each repo's repodata, copied and checked outside the tree, renamed in: new metadata
 *      files, then repomd.xml and its .asc, then the files the new repomd no longer names go
 *      (the replaced ones are recorded for rollback first);
 *   3. the top-level links, COMPOSE_ID and metadata/;
 *   4. hardlink identical files, never the ones edited in place.
 * A publish that deletes or shrinks more than maxShrinkFraction needs --allow-shrink REASON.
 */
export const syncToProd: HostOperation<'sync-to-prod'> = {
  name: 'sync-to-prod',
  trees: ['compose', 'staging', 'production'],
  run: syncToProdRun,
};

/**
 * The verification this publish may rely on: verify-staging's host-local record of exactly the
 * approved digest, for this release.
 */
async function approvedRecord(ctx: OperationContext, approved: string): Promise<VerifiedRecord> {
  const { release } = selectedRelease(ctx);
  if (!/^[0-9a-f]{64}$/.test(approved))
    throw new HostOperationError(
      `--approved-digest ${JSON.stringify(approved)} is not a 64-hex content digest`,
    );
  const found = await loadVerified(ctx.root, release.stagingDirName, approved);
  if ('missing' in found)
    throw new HostOperationError(
      `sync-to-prod refused: digest ${approved} has no passing verify-staging on this host (${found.missing}); run verify-staging first; production untouched`,
    );
  const { record } = found;
  const wanted = [release.major, release.channel, release.revision, release.stagingDirName];
  const got = [record.major, record.channel, record.revision, record.stagingDir];
  if (wanted.join('/') !== got.join('/'))
    throw new HostOperationError(
      `sync-to-prod refused: digest ${approved} was verified for ${got.join('/')}, not ${wanted.join('/')}; production untouched`,
    );
  return record;
}

/** Each repomd.xml.asc staged must verify with the configured release key (a few files). */
async function checkSignatures(ctx: OperationContext, staging: string, repoDirs: string[]): Promise<void> {
  const { release } = selectedRelease(ctx);
  const gpgHome = join(ctx.root, ctx.config.signing.gpgHome);
  const keyId = release.settings.signingKeyId;
  // A few gpg processes at a time: each is mostly start-up, and they only read.
  const valid = await mapLimit(repoDirs, 4, (repo) =>
    signatureValid(ctx, gpgHome, join(staging, repo, 'repodata', 'repomd.xml'), keyId),
  );
  const bad = repoDirs.filter((_, i) => !valid[i]);
  if (bad.length)
    throw new HostOperationError(
      `sync-to-prod refused: repomd.xml.asc of ${bad.join(', ')} does not verify with the release key ${keyId}; production untouched`,
    );
}

async function syncToProdRun(ctx: OperationContext<'sync-to-prod'>): Promise<Record<string, unknown>> {
  const { release, paths } = selectedRelease(ctx);
  if (!release.publishable)
    throw new HostOperationError(
      `sync-to-prod refuses the ${release.channel} channel: only publishable channels go to production`,
    );
  const staging = paths.stagingRelease;
  const production = paths.productionRelease;
  if (!existsSync(staging)) throw new HostOperationError(`staging release ${staging} does not exist`);
  const approved = ctx.options['approved-digest'];
  const publish = async (lease?: LockLease) => {
    const start = performance.now();
    const record = await approvedRecord(ctx, approved);
    // One walk of each tree, side by side: staging's serves both the digest re-check (only files
    // whose inode facts differ from the host-local cache are read again) and the change list.
    const cacheFile = hashCacheFiles(paths, release).staging;
    const [stagingWalk, productionWalk, cache] = await Promise.all([
      walkTree(staging),
      walkTree(production),
      readHashCache(cacheFile),
    ]);
    const content = await computeStagedContent(staging, { cache, entries: stagingWalk });
    const digest = contentDigest(content);
    if (digest !== approved)
      throw new HostOperationError(
        `staging ${staging} is not the approved content: its digest is ${digest}, the approval named ${approved} (${differingPaths(record, content).join(', ')}); production untouched`,
      );
    const scan = await scanChanges(ctx, staging, { staging: stagingWalk, production: productionWalk });
    await checkSignatures(ctx, staging, scan.repoDirs);
    const verified = performance.now();
    const result = await publishRelease(
      ctx,
      staging,
      production,
      record,
      release.productionDirName,
      scan,
      // The fencing check: a run that lost the publish lock must not make anything reachable.
      async () => lease?.check(),
    );
    const seconds = (from: number) => (performance.now() - from) / 1000;
    return {
      ...result,
      ...(lease ? { lockToken: lease.token } : {}),
      seconds: { verifyAndScan: (verified - start) / 1000, publish: seconds(verified) },
    };
  };
  if (ctx.dryRun) return publish();
  return ctx.locks.with(
    PUBLISH_LOCK,
    lockOwner(ctx),
    HOST_OPERATIONS['sync-to-prod'].timeoutSeconds,
    publish,
  );
}

/**
 * Everything the packages pass copied must be what was verified, checked in production before
 * the metadata pass makes any of it reachable: staging may have changed between the digest
 * check and the copy. Mismatched copies are removed (so no rerun keeps them by quick check).
 */
async function checkCopied(
  ctx: OperationContext,
  production: string,
  record: VerifiedRecord,
  copied: string[],
): Promise<void> {
  const mismatches = await ctx.step(`check ${copied.length} copied file(s) against the verified record`, () =>
    copiedMismatches(record, production, copied),
  );
  if (!mismatches?.length) return;
  await markProductionDirty(
    ctx,
    mismatches.map((m) => join(production, m.path)),
  );
  await removeMismatched(
    production,
    mismatches.map((m) => m.path),
  );
  throw new HostOperationError(
    `sync-to-prod refused: staging changed during the copy: ${mismatches
      .slice(0, 5)
      .map((m) => `${m.path} ${m.why}`)
      .join('; ')}; removed from production, its metadata untouched`,
  );
}

async function publishRelease(
  ctx: OperationContext<'sync-to-prod'>,
  staging: string,
  production: string,
  record: VerifiedRecord,
  productionDir: string,
  scan: ChangeScan,
  fence: () => Promise<void>,
): Promise<Record<string, unknown>> {
  const digest = record.digest;
  const shrink = await measureShrink(scan.changes, scan.stagingFiles, staging, production, scan.repodataDirs);
  const allowShrink = ctx.options['allow-shrink'];
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
  const copiedFiles = packages.filter((p) => !p.endsWith('/'));
  if (!ctx.dryRun) await checkCopied(ctx, production, record, copiedFiles);
  await fence();
  const metadata = await publishMetadata(ctx, staging, production, scan, store, record);
  await fence();
  await publishLinksAndComposeInfo(ctx, staging, production, record);
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
