import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import { replaceSymlink } from '../framework/fsutil.ts';
import type { HostOperation } from '../framework/operation.ts';
import { lockOwner, selectedRelease } from '../publish/release.ts';
import { isoFileName, linkTarget } from '../release/isos.ts';

/**
 * Where rtorrent takes its work, under --root: the seed's /opt/rtorrent, with `download/<set>/`
 * holding links to what is seeded and `watch/start/<set>/` the torrent files rtorrent picks up.
 */
export const TORRENT_ROOT = 'opt/rtorrent';

/** The files of one ISO set: the ISO, its manifest and the CHECKSUM (its .asc is not seeded). */
async function setMembers(isoDir: string, iso: string): Promise<string[]> {
  const names = await readdir(isoDir);
  return names
    .filter((n) => n === iso || n === `${iso}.manifest` || (n.startsWith('CHECKSUM') && n !== 'CHECKSUM.asc'))
    .sort();
}

async function makeTorrent(
  ctx: OperationContext,
  revision: string,
  name: string,
  setDir: string,
  output: string,
): Promise<void> {
  const { trackers, commentUrl } = ctx.config.torrents;
  // The release notes live at …/release_notes/8_10/.
  const comment = commentUrl.replace('{revision}', revision.replaceAll('.', '_'));
  const tmp = `${output}.partial`;
  if (!ctx.dryRun) await rm(tmp, { force: true });
  await ctx.run([
    'mktorrent',
    ...trackers.flatMap((t) => ['-a', t]),
    '-c',
    comment,
    '-n',
    name,
    '-o',
    tmp,
    setDir,
  ]);
  if (!ctx.dryRun) await rename(tmp, output);
}

/**
 * torrents: one torrent per ISO set (gen-torrents.sh) with the configured trackers and the
 * release-notes comment, made by mktorrent. A torrent that exists is kept as it is (rtorrent
 * may be seeding it); a lock keeps two runs apart.
 */
export const torrents: HostOperation<'torrents'> = {
  name: 'torrents',
  trees: ['compose', 'staging'],
  async run(ctx) {
    const { release, paths } = selectedRelease(ctx);
    const isos = join(paths.stagingRelease, 'isos');
    if (!existsSync(isos))
      throw new HostOperationError(`torrents: ${isos} does not exist (run minor-release first)`);
    const base = join(ctx.root, TORRENT_ROOT);
    const makeAll = async () => {
      const made: string[] = [];
      const kept: string[] = [];
      for (const variant of release.settings.isoVariants) {
        for (const arch of release.settings.arches) {
          const iso = isoFileName(release.revision, arch, variant);
          const isoDir = join(isos, arch);
          if (!existsSync(join(isoDir, iso))) continue;
          const name = iso.replace(/\.iso$/, '');
          const setDir = join(base, 'download', name);
          const output = join(base, 'watch', 'start', name, `${name}.torrent`);
          if (existsSync(output)) {
            kept.push(name);
            continue;
          }
          await ctx.step(`link the ${name} set into ${setDir}`, async () => {
            await mkdir(setDir, { recursive: true });
            await mkdir(join(base, 'watch', 'start', name), { recursive: true });
            for (const member of await setMembers(isoDir, iso))
              if ((await linkTarget(join(setDir, member))) !== join(isoDir, member))
                await replaceSymlink(join(isoDir, member), join(setDir, member));
          });
          await makeTorrent(ctx, release.revision, name, setDir, output);
          made.push(name);
        }
      }
      return { made, kept, watchDir: join(base, 'watch', 'start') };
    };
    // A dry run takes no lock: taking one writes a lock file.
    if (ctx.dryRun) return makeAll();
    return ctx.locks.with('torrents', lockOwner(ctx), 4 * 3600, makeAll);
  },
};
