import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { latestLinkName, type Release, type ReleasePaths } from '../../shared/release.ts';
import type { OperationContext } from '../framework/context.ts';
import { replaceSymlink, writeFileAtomic } from '../framework/fsutil.ts';
import type { HostOperation } from '../framework/operation.ts';
import { lockOwner, selectedRelease } from '../publish/release.ts';
import { rsyncBase } from '../publish/rsync.ts';
import { checksumFile, isoLinks, linkTarget } from '../release/isos.ts';
import { withAppStreamVariant } from '../release/treeinfo.ts';
import { relengDir } from '../repo/staged.ts';
import { finishedCompose } from '../repo/sync.ts';
import { signRepos } from './sign-repos.ts';
import { syncToStaging } from './sync-to-staging.ts';

/** Points `link` at `target` unless it already does (atomic rename of a new link). */
async function ensureLink(ctx: OperationContext, target: string, link: string): Promise<boolean> {
  if ((await linkTarget(link)) === target) return false;
  await ctx.step(`link ${link} -> ${target}`, () => replaceSymlink(target, link));
  return true;
}

/** Writes `content` to `path` unless it already holds exactly that: reruns change nothing. */
async function ensureContent(ctx: OperationContext, path: string, content: string): Promise<boolean> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === content) return false;
  await ctx.step(`write ${path}`, () => writeFileAtomic(path, content));
  return true;
}

/** ISOs of the main compose copied (not moved) into `isos/<arch>/`, with links and CHECKSUM. */
async function stageIsos(ctx: OperationContext, release: Release, paths: ReleasePaths, composeDir: string) {
  const staged: string[] = [];
  for (const arch of release.settings.arches) {
    const variants = Object.values(release.settings.composes).flatMap((c) => c.variants);
    const sources = [...new Set(variants)]
      .map((v) => join(composeDir, 'compose', v, arch, 'iso'))
      .filter((dir) => existsSync(dir));
    if (!sources.length) continue;
    const dir = join(paths.stagingRelease, 'isos', arch);
    const tempDir = join(relengDir(paths), 'rsync-tmp', 'minor-release');
    await ctx.step(`prepare ${dir}`, async () => {
      await mkdir(dir, { recursive: true });
      await mkdir(tempDir, { recursive: true });
    });
    // Each variant's own CHECKSUM would overwrite the others': ours is made below from all.
    await ctx.run([
      ...rsyncBase(ctx.config),
      `--temp-dir=${tempDir}`,
      // Several variants' iso dirs merge into one: no single source dir time fits it.
      '--omit-dir-times',
      '--exclude=CHECKSUM*',
      ...sources.map((s) => `${s}/`),
      `${dir}/`,
    ]);
    if (ctx.dryRun) continue;
    for (const [link, target] of isoLinks(release.revision, arch, release.settings.isoVariants))
      if (existsSync(join(dir, target))) await ensureLink(ctx, target, join(dir, link));
    await ensureContent(ctx, join(dir, 'CHECKSUM'), await checksumFile(dir));
    staged.push(arch);
  }
  return staged;
}

/** The golden kickstart tree: each comps repo's GA `os` copied once to `kickstart`, then frozen. */
async function freezeKickstart(
  ctx: OperationContext,
  release: Release,
  paths: ReleasePaths,
): Promise<string[]> {
  const frozen: string[] = [];
  for (const arch of release.settings.arches) {
    for (const repo of release.settings.reposWithComps) {
      const os = join(paths.stagingRelease, repo, arch, 'os');
      const kickstart = join(paths.stagingRelease, repo, arch, 'kickstart');
      if (!existsSync(os) || existsSync(join(kickstart, 'repodata', 'repomd.xml'))) continue;
      // Trailing slashes copy the contents: a rerun (after a kill) fills in, it never nests os/.
      await ctx.run([...rsyncBase(ctx.config), '-H', '--ignore-existing', `${os}/`, `${kickstart}/`]);
      frozen.push(`${repo}/${arch}/kickstart`);
    }
  }
  return frozen;
}

/** BaseOS's .treeinfo (os and kickstart) names AppStream too; the result saved as .treeinfo-pristine. */
async function extendTreeinfo(
  ctx: OperationContext,
  release: Release,
  paths: ReleasePaths,
): Promise<string[]> {
  const changed: string[] = [];
  for (const arch of release.settings.arches) {
    for (const kind of ['os', 'kickstart'] as const) {
      const tree = join(paths.stagingRelease, 'BaseOS', arch, kind);
      const text = await readFile(join(tree, '.treeinfo'), 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      const extended = withAppStreamVariant(text, arch, kind);
      if (await ensureContent(ctx, join(tree, '.treeinfo'), extended)) changed.push(`BaseOS/${arch}/${kind}`);
      await ensureContent(ctx, join(tree, '.treeinfo-pristine'), extended);
    }
  }
  return changed;
}

/**
 * minor-release: the GA staging sync (minor-release-sync-to-staging.sh) made rerunnable: every
 * compose staged (sync-to-staging), the ISOs copied with their links and a regenerated
 * CHECKSUM, the golden kickstart, BaseOS's treeinfo, Live/ and the lowercase links, then every
 * repomd signed and the staging latest-<major> link moved atomically.
 */
export const minorRelease: HostOperation<'minor-release'> = {
  name: 'minor-release',
  trees: ['compose', 'staging'],
  async run(ctx) {
    const { release, paths } = selectedRelease(ctx);
    const settings = release.settings;
    const main = settings.stagingOrder.at(-1)!;
    const composes: Record<string, unknown>[] = [];
    for (const name of settings.stagingOrder) {
      const link = join(paths.composeRoot, latestLinkName(name, release.major));
      if (name !== main && !existsSync(link)) {
        ctx.log(`${link} does not exist: ${name} has no compose for this release, skipped`);
        continue;
      }
      composes.push(await syncToStaging.run({ ...ctx, options: { ...ctx.options, compose: name } }));
    }
    const stage = async () => {
      const source = await finishedCompose(
        join(paths.composeRoot, latestLinkName(main, release.major)),
        'minor-release',
      );
      const isos = await stageIsos(ctx, release, paths, source.composeDir);
      const kickstart = await freezeKickstart(ctx, release, paths);
      const treeinfo = await extendTreeinfo(ctx, release, paths);
      const staging = paths.stagingRelease;
      await ctx.step(`make ${staging}/Live/x86_64`, () =>
        mkdir(join(staging, 'Live', 'x86_64'), { recursive: true }),
      );
      await ensureLink(ctx, 'Live', join(staging, 'live'));
      for (const [repo, link] of Object.entries(settings.linkRepos))
        if (existsSync(join(staging, repo))) await ensureLink(ctx, repo, join(staging, link));
      const signed = await signRepos(ctx, staging, settings.signingKeyId);
      await ensureLink(ctx, release.stagingDirName, paths.stagingLatestLink);
      return { stagingDir: staging, composes, isos, kickstart, treeinfo, signed: signed.signed };
    };
    // A dry run takes no lock: taking one writes a lock file.
    if (ctx.dryRun) return stage();
    return ctx.locks.with(`minor-release:${release.major}`, lockOwner(ctx), 12 * 3600, stage);
  },
};
