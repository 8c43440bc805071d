import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { advisorySample, type ManifestSummary } from '../../shared/messages/promotion.ts';
import type { Release, ReleasePaths } from '../../shared/release.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import { writeFileAtomic } from '../framework/fsutil.ts';
import type { HostOperation } from '../framework/operation.ts';
import { baseRelease, selectedRelease } from '../publish/release.ts';
import { recordVerified } from '../publish/verified.ts';
import {
  computeStagedContent,
  contentDigest,
  diffAgainst,
  hashCacheFiles,
  readHashCache,
  writeHashCache,
} from '../repo/manifest.ts';
import { packageSignatureProblems, signatureRecordFile } from '../repo/package-signatures.ts';
import { checkRepo, type RepoFacts, rpmFiles } from '../repo/repo-checks.ts';
import { checkClosure, closureSummary } from '../repo/repoclosure.ts';
import { readStaged, relengDir } from '../repo/staged.ts';
import { capped, treeSafetyProblems } from '../repo/tree-safety.ts';
import { walkTree } from '../repo/tree-walk.ts';
import { findRepoDirs } from '../repo/walk.ts';

/**
 * verify-staging: the gate before approval. Every repomd signature verifies, every file
 * repomd names exists with its checksum, comps and modules are where configured, advisories'
 * packages are present, no os repo is empty or shrunk beyond maxShrinkFraction against
 * production, every repo set of every arch is closed (repoclosure.ts; no solver fails it), no symlink leads out of the release tree, every
 * entry is readable by mirrors and named in printable ASCII (tree-safety.ts), and every RPM is
 * signed by the major's release key (package-signatures.ts). Then it writes the manifest and its
 * digest outside the mirror tree: `<staging mount>/.releng/manifests/<stagingDir>.json`
 * and `.sha256`. The digest covers every file's path, size and SHA-256 (contentDigest).
 */

export function manifestPaths(paths: ReleasePaths, release: Release): { manifest: string; digest: string } {
  const base = join(relengDir(paths), 'manifests', release.stagingDirName);
  return { manifest: `${base}.json`, digest: `${base}.sha256` };
}

function layoutProblems(release: Release, paths: ReleasePaths, facts: RepoFacts[]): string[] {
  const problems: string[] = [];
  const settings = release.settings;
  for (const repo of facts) {
    const [name, arch, kind] = repo.rel.split('/');
    if (kind !== 'os' || !name || !arch) continue;
    if (settings.reposWithComps.includes(name) && !repo.types.includes('group'))
      problems.push(`${repo.rel}: no comps (group) although ${name} is a repo with comps`);
    const modulesYaml = join(paths.moduleMetadata, arch, `${name}-modules.yaml`);
    if (settings.moduleRepos.includes(name) && existsSync(modulesYaml) && !repo.types.includes('modules'))
      problems.push(`${repo.rel}: no modules although ${modulesYaml} exists`);
    if (repo.packageCount === 0) problems.push(`${repo.rel}: has no packages`);
  }
  return problems;
}

async function shrinkProblems(
  ctx: OperationContext,
  paths: ReleasePaths,
  facts: RepoFacts[],
): Promise<string[]> {
  const problems: string[] = [];
  const fraction = ctx.config.maxShrinkFraction;
  for (const repo of facts.filter((f) => f.rel.endsWith('/os'))) {
    const production = (await rpmFiles(join(paths.productionRelease, repo.rel))).length;
    if (production > 0 && repo.packageCount < production * (1 - fraction))
      problems.push(
        `${repo.rel}: ${repo.packageCount} packages in staging, ${production} in production (shrinks more than ${fraction * 100}%)`,
      );
  }
  return problems;
}

/**
 * The repos a SIG's packages are closed against: the base release's (BaseOS, AppStream) as
 * clients have them, from production, or from staging before the release's first publish.
 */
async function sigBaseRepos(ctx: OperationContext): Promise<{ tree: string; osRepos: string[] }> {
  const { release, paths } = baseRelease(ctx);
  for (const tree of [paths.productionRelease, paths.stagingRelease]) {
    if (!existsSync(tree)) continue;
    const osRepos = (await findRepoDirs(tree)).filter((rel) => rel.endsWith('/os'));
    if (osRepos.some((rel) => release.settings.repoclosureBase.includes(rel.split('/')[0]!)))
      return { tree, osRepos };
  }
  throw new HostOperationError(
    `repoclosure: no ${release.settings.repoclosureBase.join(', ')} repos of release ${release.productionDirName} in production or staging to close the SIG's packages against`,
  );
}

/** The closure check in a scratch dir that is removed afterwards (dnf's installroot and cache). */
async function closure(ctx: OperationContext, release: Release, paths: ReleasePaths, facts: RepoFacts[]) {
  const base = release.sig ? await sigBaseRepos(ctx) : undefined;
  // A dry run must not touch the staging mount, not even to make and remove a temp dir there
  // (that moves the directory's mtime), so it uses the system's.
  const scratchParent = ctx.dryRun ? tmpdir() : relengDir(paths);
  await mkdir(scratchParent, { recursive: true });
  const scratch = await mkdtemp(join(scratchParent, 'repoclosure-'));
  try {
    const osRepos = facts.map((f) => f.rel).filter((rel) => rel.endsWith('/os'));
    return await checkClosure(ctx, release.settings, release.major, paths.stagingRelease, osRepos, scratch, {
      base,
      name: release.sig,
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

interface Signer {
  gpgHome: string;
  keyId: string;
}

/**
 * Every check of the staged tree; throws naming each problem. Its facts, stat walk and
 * closure report serve the manifest: staging is walked once (every stat a round trip on EFS).
 */
async function checkStagedTree(ctx: OperationContext, release: Release, paths: ReleasePaths, signer: Signer) {
  const tree = paths.stagingRelease;
  if (!existsSync(tree)) throw new HostOperationError(`staging release ${tree} does not exist`);
  const problems: string[] = [];
  const facts: RepoFacts[] = [];
  const repos = await findRepoDirs(tree);
  if (repos.length === 0) problems.push(`${tree} holds no repos`);
  for (const rel of repos) facts.push(await checkRepo(ctx, tree, rel, signer, problems));
  // One stat walk for what must never publish: links out of the tree, unreadable or unlistable
  // entries, names rsync and the file lists cannot carry; and RPMs not signed by the release key.
  const entries = await walkTree(tree);
  problems.push(...capped(treeSafetyProblems(entries), 50));
  const record = signatureRecordFile(ctx.root, release.stagingDirName);
  const signed = await packageSignatureProblems(ctx, tree, entries, signer, record);
  problems.push(...capped(signed.problems, 50));
  ctx.log(
    `package signatures: ${signed.checked} of ${signed.rpms} RPMs checked (the rest unchanged since they passed)`,
  );
  problems.push(...layoutProblems(release, paths, facts), ...(await shrinkProblems(ctx, paths, facts)));
  const closed = await closure(ctx, release, paths, facts);
  problems.push(...closed.problems);
  if (problems.length)
    throw new HostOperationError(
      `staging ${release.stagingDirName} failed verification:\n  ${problems.join('\n  ')}`,
      { repoclosure: closureSummary(closed.report) },
    );
  return { facts, entries, closed };
}

/** The manifest staging-ready's digest names: what was verified, file by file. */
function manifestOf(
  release: Release,
  digest: string,
  summary: ManifestSummary,
  repoclosure: Awaited<ReturnType<typeof closure>>['report'],
  facts: RepoFacts[],
  content: Awaited<ReturnType<typeof computeStagedContent>>,
) {
  return {
    version: 1,
    major: release.major,
    channel: release.channel,
    revision: release.revision,
    stagingDir: release.stagingDirName,
    digest,
    summary,
    repoclosure,
    repos: facts.map((f) => ({
      path: f.rel,
      repomdSha256: f.repomdSha256,
      packages: f.packageCount,
      advisories: f.advisories,
    })),
    files: content.files,
    symlinks: content.symlinks,
  };
}

export const verifyStaging: HostOperation<'verify-staging'> = {
  name: 'verify-staging',
  trees: ['compose', 'staging', 'production'],
  async run(ctx) {
    const { release, paths } = selectedRelease(ctx);
    const signer = {
      gpgHome: join(ctx.root, ctx.config.signing.gpgHome),
      keyId: release.settings.signingKeyId,
    };
    const { facts, entries, closed } = await checkStagedTree(ctx, release, paths, signer);
    const caches = hashCacheFiles(paths, release);
    const content = await computeStagedContent(paths.stagingRelease, {
      cache: await readHashCache(caches.staging),
      entries,
    });
    const production = await computeStagedContent(paths.productionRelease, {
      cache: await readHashCache(caches.production),
    });
    const digest = contentDigest(content);
    const staged = await readStaged(paths, release.stagingDirName);
    const advisories = [...new Set(facts.flatMap((f) => f.advisories))].sort();
    const summary: ManifestSummary = {
      composeIds: [...new Set(Object.values(staged.composes).map((c) => c.composeId))].sort(),
      ...advisorySample(advisories),
      packageCount: facts.reduce((n, f) => n + f.packageCount, 0),
      repoCount: facts.length,
      diff: diffAgainst(content, production),
    };
    const out = manifestPaths(paths, release);
    const manifest = manifestOf(release, digest, summary, closed.report, facts, content);
    await ctx.step(`write manifest ${out.manifest} and digest ${digest}`, async () => {
      await writeFileAtomic(out.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
      await writeFileAtomic(out.digest, `${digest}  ${release.stagingDirName}.json\n`);
      // sync-to-prod re-checks the approved digest against these without re-reading every byte.
      await writeHashCache(caches.staging, content.cache);
      await writeHashCache(caches.production, production.cache);
      // What sync-to-prod trusts: host-local, where no staging writer reaches.
      await recordVerified(ctx.root, {
        version: 1,
        result: 'passed',
        digest,
        major: release.major,
        channel: release.channel,
        revision: release.revision,
        stagingDir: release.stagingDirName,
        signingKeyId: signer.keyId,
        verifiedAt: ctx.clock.now().toISOString(),
        files: content.files,
        symlinks: content.symlinks,
      });
    });
    // The staging pipeline announces staging-ready from this result: the release, the digest and
    // a summary of fixed size (it samples the advisories). The whole list goes to the result
    // file; the 4 KB stdout line cuts it when it is long.
    return {
      major: release.major,
      channel: release.channel,
      revision: release.revision,
      digest,
      manifest: out.manifest,
      summary,
      advisories,
      repoclosure: closureSummary(closed.report),
    };
  },
};
