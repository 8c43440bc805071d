import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Release, ReleasePaths } from '../../shared/release.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import { sha256File, writeFileAtomic } from '../framework/fsutil.ts';
import type { HostOperation } from '../framework/operation.ts';
import { selectedRelease } from '../publish/release.ts';
import { appendPackages, packageFiles } from '../repo/incremental.ts';
import { addRepoMetadata, fixOpenSize } from '../repo/repo-edit.ts';
import { readStaged, relengDir, type StagedComposes } from '../repo/staged.ts';
import { releaseRepoLayout, type StagingRepo } from '../repo/walk.ts';

/**
 * prep-staging: after every staging sync, rebuild metadata over the whole staging release so
 * it lists old and new packages (createrepo_c --update), re-add the modules createrepo drops,
 * and restore .treeinfo. A repo whose inputs (package files, comps, modules, the staged
 * composes) are unchanged since its last prep is left alone, so a rerun changes nothing.
 */

interface PrepJob {
  repo: StagingRepo;
  argv: string[];
  groupfile?: string;
  modules?: string;
}

/** The comps file of the compose that was synced for this repo (not whatever latest- is now). */
function compsFile(release: Release, paths: ReleasePaths, staged: StagedComposes, repo: StagingRepo): string {
  const owner = Object.entries(release.settings.composes).find(([, c]) =>
    c.variants.includes(repo.repo),
  )?.[0];
  const composeId = owner ? staged.composes[owner]?.composeId : undefined;
  if (!composeId)
    throw new HostOperationError(
      `${repo.rel} has comps but no compose of it was synced into ${release.stagingDirName}`,
    );
  const file = join(
    paths.composeRoot,
    composeId,
    'work',
    repo.arch,
    'comps',
    `comps-${repo.repo}.${repo.arch}.xml`,
  );
  if (!existsSync(file)) throw new HostOperationError(`${repo.rel}: comps file ${file} is missing`);
  return file;
}

function planJob(
  ctx: OperationContext,
  release: Release,
  paths: ReleasePaths,
  staged: StagedComposes,
  repo: StagingRepo,
): PrepJob {
  const argv = [
    'createrepo_c',
    '--update',
    '--quiet',
    '--no-database',
    `--distro=${release.settings.distroTag}`,
    `--workers=${ctx.config.createrepoWorkers}`,
    '--checksum=sha256',
  ];
  const groupfile =
    repo.kind === 'os' && repo.withComps ? compsFile(release, paths, staged, repo) : undefined;
  if (groupfile)
    argv.push(
      `--groupfile=${groupfile}`,
      '--xz',
      `--revision=${release.revision}`,
      '--retain-old-md-by-age=1d',
    );
  if (repo.kind === 'debug' && repo.withComps) argv.push('--retain-old-md-by-age=1d');
  const modules = join(paths.moduleMetadata, repo.arch, `${repo.repo}-modules.yaml`);
  return {
    repo,
    argv: [...argv, repo.dir],
    modules: repo.kind === 'os' && repo.modules && existsSync(modules) ? modules : undefined,
  };
}

/** What a repo's metadata is made from: when this is unchanged, so is the result. */
async function fingerprint(
  job: PrepJob,
  staged: StagedComposes,
  files: Map<string, { size: number; mtime: number }>,
) {
  const hash = createHash('sha256').update(JSON.stringify(job.argv)).update(JSON.stringify(staged.composes));
  for (const [path, f] of [...files].sort(([a], [b]) => a.localeCompare(b)))
    hash.update(`${path}\0${f.size}\0${f.mtime}\n`);
  if (job.groupfile) hash.update(await sha256File(job.groupfile));
  if (job.modules) hash.update(await sha256File(job.modules));
  return hash.digest('hex');
}

async function listPackages(repoDir: string) {
  const dir = join(repoDir, 'Packages');
  const names = existsSync(dir) ? (await readdir(dir, { recursive: true })).map(String) : [];
  return packageFiles(repoDir, names);
}

/**
 * New metadata over old and new packages: appended to the existing metadata when the repo
 * only gained packages, createrepo_c --update otherwise (and in a dry run's plan).
 */
async function updateMetadata(
  ctx: OperationContext,
  job: PrepJob,
  files: Map<string, { size: number; mtime: number }>,
) {
  if (!ctx.dryRun) {
    const flags = ['--checksum=sha256', `--workers=${ctx.config.createrepoWorkers}`];
    const appended = await appendPackages(ctx, job.repo.dir, files, job.groupfile, flags);
    if (appended) {
      ctx.log(`${job.repo.rel}: appended ${appended.length} new packages to its metadata`);
      return;
    }
  }
  await ctx.run(job.argv);
}

async function restoreTreeinfo(
  ctx: OperationContext,
  release: Release,
  paths: ReleasePaths,
  skipped: string[],
) {
  for (const arch of release.settings.arches) {
    const os = join(paths.stagingRelease, 'BaseOS', arch, 'os');
    const pristine = join(os, '.treeinfo-pristine');
    if (!existsSync(pristine)) {
      if (existsSync(os)) ctx.log(`warning: ${pristine} does not exist; .treeinfo left as synced`);
      skipped.push(`BaseOS/${arch}/os/.treeinfo`);
      continue;
    }
    const current = existsSync(join(os, '.treeinfo')) ? await readFile(join(os, '.treeinfo')) : undefined;
    if (current?.equals(await readFile(pristine))) continue;
    await ctx.step(`restore ${os}/.treeinfo from .treeinfo-pristine`, () =>
      copyFile(pristine, join(os, '.treeinfo')),
    );
  }
}

export const prepStaging: HostOperation<'prep-staging'> = {
  name: 'prep-staging',
  trees: ['compose', 'staging'],
  async run(ctx) {
    const { release, paths } = selectedRelease(ctx);
    if (!existsSync(paths.stagingRelease))
      throw new HostOperationError(
        `staging release ${paths.stagingRelease} does not exist (nothing synced yet)`,
      );
    const staged = await readStaged(paths, release.stagingDirName);
    const stateFile = join(relengDir(paths), 'prep', `${release.stagingDirName}.json`);
    const state: Record<string, string> = existsSync(stateFile)
      ? JSON.parse(await readFile(stateFile, 'utf8'))
      : {};
    const skipped: string[] = [];
    const rebuilt: string[] = [];
    const unchanged: string[] = [];
    for (const repo of releaseRepoLayout(release.settings, paths.stagingRelease)) {
      if (!existsSync(repo.dir)) {
        skipped.push(repo.rel);
        continue;
      }
      if (repo.kind === 'kickstart') {
        ctx.log(`${repo.rel}: kickstart stays the GA freeze, not re-created`);
        continue;
      }
      const job = planJob(ctx, release, paths, staged, repo);
      const files = await listPackages(repo.dir);
      const print = await fingerprint(job, staged, files);
      if (state[repo.rel] === print) {
        unchanged.push(repo.rel);
        continue;
      }
      await updateMetadata(ctx, job, files);
      if (!ctx.dryRun) await fixOpenSize(repo.dir);
      if (job.modules) {
        const modules = job.modules;
        await ctx.step(`re-add modules of ${repo.rel} from ${modules}`, () =>
          addRepoMetadata(ctx, repo.dir, modules, 'modules', 'xz'),
        );
      }
      rebuilt.push(repo.rel);
      if (!ctx.dryRun) {
        state[repo.rel] = print;
        await writeFileAtomic(stateFile, `${JSON.stringify(state, null, 2)}\n`);
      }
    }
    if (skipped.length) ctx.log(`does not exist, skipped: ${skipped.join(', ')}`);
    await restoreTreeinfo(ctx, release, paths, skipped);
    return { stagingDir: paths.stagingRelease, rebuilt, unchanged, skipped };
  },
};
