import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PUBLISH_LOCK } from '../../shared/lanes.ts';
import { HOST_OPERATIONS } from '../../shared/operations.ts';
import { parseRevision } from '../../shared/release.ts';
import { publishOwner } from '../filelist/trees.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import { replaceSymlink } from '../framework/fsutil.ts';
import type { LockLease } from '../framework/locks.ts';
import type { HostOperation } from '../framework/operation.ts';
import { lockOwner, selectedRelease } from '../publish/release.ts';
import { linkTarget } from '../release/isos.ts';
import { findRepoDirs } from '../repo/walk.ts';

/** The content root while the release is not yet open: mirrors' rsync user cannot enter it. */
export const CLOSED_MODE = 0o750;
/** After the bitflip. */
export const OPEN_MODE = 0o755;

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;
const octal = (mode: number) => mode.toString(8).padStart(3, '0');

/**
 * close: makes the new release's production root before the promotion publishes into it, at
 * mode 750, so the publish fills a tree mirrors cannot read yet (sync-to-prod copies into an
 * existing root and leaves its mode alone). A root that exists keeps its mode: a rerun after
 * the bitflip never hides a live release again.
 */
async function close(ctx: OperationContext, root: string) {
  if (existsSync(root)) {
    const mode = await modeOf(root);
    if (mode !== CLOSED_MODE) ctx.log(`${root} exists with mode ${octal(mode)}: left as it is`);
    return { root, mode: octal(mode), changed: false };
  }
  await ctx.step(`make ${root} closed (mode ${octal(CLOSED_MODE)})`, async () => {
    await mkdir(root, { recursive: true });
    // mkdir's mode is masked by the umask: set it exactly.
    await chmod(root, CLOSED_MODE);
    const owner = publishOwner(ctx.config);
    if (owner) await chown(root, owner.uid, owner.gid);
  });
  return { root, mode: octal(CLOSED_MODE), changed: true };
}

/** The release is in production: its root holds signed repos the promotion published. */
async function requirePublished(root: string): Promise<void> {
  const repos = existsSync(root) ? await findRepoDirs(root) : [];
  if (!repos.some((repo) => existsSync(join(root, repo, 'repodata', 'repomd.xml.asc'))))
    throw new HostOperationError(`${root} holds no published repo: promote the release first`);
}

/** link: production's `<major>` link moved to the new release, a new link renamed over the old. */
async function link(ctx: OperationContext, category: string, major: string, target: string) {
  await requirePublished(join(category, target));
  const path = join(category, major);
  const info = await lstat(path).catch(() => undefined);
  if (info && !info.isSymbolicLink())
    throw new HostOperationError(`${path} is not a symlink: refusing to replace it`);
  const previous = await linkTarget(path);
  if (previous === target) return { link: path, target, previous, changed: false };
  await ctx.step(`link ${path} -> ${target} (new link renamed over ${previous ?? 'nothing'})`, () =>
    replaceSymlink(target, path),
  );
  return { link: path, target, previous, changed: true };
}

/** open (the bitflip): the content root goes to mode 755, once the second approval allowed it. */
async function open(ctx: OperationContext, root: string) {
  await requirePublished(root);
  const mode = await modeOf(root);
  if (mode === OPEN_MODE) return { root, mode: octal(mode), changed: false };
  await ctx.step(`open ${root}: mode ${octal(mode)} -> ${octal(OPEN_MODE)}`, () => chmod(root, OPEN_MODE));
  return { root, mode: octal(OPEN_MODE), changed: true };
}

/** The newest minor release of `major` in production older than `revision`, if any. */
export async function previousRelease(category: string, revision: string): Promise<string | undefined> {
  const current = parseRevision(revision);
  const older = (await readdir(category).catch(() => [] as string[]))
    .filter((name) => /^[0-9]{1,3}\.[0-9]{1,3}$/.test(name))
    .map((name) => ({ name, ...parseRevision(name) }))
    .filter((r) => r.major === current.major && r.minor < current.minor)
    .sort((a, b) => b.minor - a.minor);
  return older[0]?.name;
}

/**
 * vault: the previous minor release copied to `<vault>/<8.Y>` (vault-release.sh), every file a
 * hardlink of production's (same file system, no second copy of the bytes). A first copy goes
 * to a hidden partial dir renamed into place; a rerun refreshes the vaulted copy, so a killed
 * run is finished by the next. Production's `8.Y` stays where it is.
 */
async function vault(
  ctx: OperationContext<'ga-publish'>,
  category: string,
  revision: string,
  fence: () => Promise<void>,
) {
  if (!ctx.config.ga.vaultPrevious) {
    ctx.log('ga.vaultPrevious is false: nothing vaulted');
    return { vaulted: null };
  }
  const previous = ctx.options.previous ?? (await previousRelease(category, revision));
  if (!previous) {
    ctx.log(`no minor release older than ${revision} in ${category}: nothing to vault`);
    return { vaulted: null };
  }
  if (parseRevision(previous).major !== parseRevision(revision).major)
    throw new HostOperationError(
      `--previous ${previous} is not a release of major ${parseRevision(revision).major}`,
    );
  const source = join(category, previous);
  if (!existsSync(source)) throw new HostOperationError(`--previous ${previous}: ${source} does not exist`);
  const vaultRoot = join(ctx.root, ctx.config.mounts.production, ctx.config.ga.vaultStub);
  const target = join(vaultRoot, previous);
  const into = existsSync(target) ? target : join(vaultRoot, `.${previous}.partial`);
  await ctx.step(`make ${vaultRoot}`, () => mkdir(vaultRoot, { recursive: true }));
  // No --chown: the vault keeps production's owners, so --link-dest can link every file.
  await ctx.run(['rsync', '-aH', '--numeric-ids', `--link-dest=${source}`, `${source}/`, `${into}/`]);
  // The copy took a while: a run that lost the publish lock meanwhile must not name it served.
  await fence();
  if (into !== target) await ctx.step(`rename ${into} to ${target}`, () => rename(into, target));
  return { vaulted: previous, from: source, to: target };
}

/**
 * ga-publish: GA day in production, one step per run (the minor-release machine runs them
 * around its Promote step and the bitflip approval): `close` before the publish, then `link`
 * (`8 -> 8.10`), `open` (750 -> 755) and `vault` (the previous minor release). Each step
 * changes nothing when it is already done, and takes the publish lock: the file lists and
 * every other production writer stay out while it runs.
 */
export const gaPublish: HostOperation<'ga-publish'> = {
  name: 'ga-publish',
  trees: ['production'],
  async run(ctx) {
    const { release, paths } = selectedRelease(ctx);
    if (!release.publishable)
      throw new HostOperationError(
        `ga-publish refuses the ${release.channel} channel: it never reaches production`,
      );
    const { step } = ctx.options;
    const root = paths.productionRelease;
    const category = paths.productionCategory;
    const work = async (fence: () => Promise<void>): Promise<Record<string, unknown>> => {
      if (step === 'close') return close(ctx, root);
      if (step === 'link') return link(ctx, category, release.major, release.productionDirName);
      if (step === 'open') return open(ctx, root);
      return vault(ctx, category, release.revision, fence);
    };
    const run = async (lease?: LockLease) => ({
      step,
      release: release.productionDirName,
      ...(await work(async () => lease?.check())),
    });
    if (ctx.dryRun) return run();
    return ctx.locks.with(PUBLISH_LOCK, lockOwner(ctx), HOST_OPERATIONS['ga-publish'].timeoutSeconds, run);
  },
};
