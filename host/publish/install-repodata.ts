import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { markProductionDirty } from '../filelist/journal.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import { sha256File } from '../framework/fsutil.ts';
import { namesIn } from './repodata.ts';
import { publishTempDir, rsyncBase } from './rsync.ts';

const REPOMD = new Set(['repomd.xml', 'repomd.xml.asc']);

/** The SHA-256 a file (relative to the source root) must have, or undefined for any. */
export type ExpectedSha256 = (path: string) => string | undefined;

/**
 * Replaces repodata dirs under `targetRoot` with those under `sourceRoot` (same relative
 * paths) in the order a reader can follow. Everything is first copied whole into a scratch dir
 * outside the mirror tree on the same file system (the publish temp dir) and, when `expected`
 * is given, checked there; only then renamed into place: the new metadata files first (nothing
 * names them yet), then each repomd.xml with its .asc right after it, then the files no
 * repomd.xml names any more are removed. Killed or out of space at any point, nothing partial
 * is ever under the tree and each repomd.xml names only files that exist. Used by publish and
 * by rollback.
 */
export async function installRepodata(
  ctx: OperationContext,
  sourceRoot: string,
  targetRoot: string,
  repodataDirs: string[],
  expected?: ExpectedSha256,
): Promise<void> {
  await ctx.step('clear temp dirs a killed run left in repodata', async () => {
    for (const dir of repodataDirs)
      await rm(join(targetRoot, dir, '.~tmp~'), { recursive: true, force: true });
  });
  const metadataFiles: string[] = [];
  const repomdFiles: string[] = [];
  for (const dir of repodataDirs) {
    for (const name of await namesIn(join(sourceRoot, dir))) {
      if (name.startsWith('.')) continue;
      (REPOMD.has(name) ? repomdFiles : metadataFiles).push(join(dir, name));
    }
  }
  repomdFiles.sort();
  const all = [...metadataFiles, ...repomdFiles];
  const scratch = join(publishTempDir(ctx), `repodata-${randomBytes(6).toString('hex')}`);
  await ctx.step(`make scratch dir ${scratch}`, () => mkdir(scratch, { recursive: true }));
  try {
    if (all.length)
      await ctx.run(
        [...rsyncBase(ctx.config), '--files-from=-', '--from0', `${sourceRoot}/`, `${scratch}/`],
        {
          input: `${all.join('\0')}\0`,
        },
      );
    const changed = await ctx.step('check the copied metadata and pick what differs', async () => {
      const out: string[] = [];
      for (const path of all) {
        const sha = await sha256File(join(scratch, path));
        const wanted = expected?.(path);
        if (expected && sha !== wanted)
          throw new HostOperationError(
            `${join(sourceRoot, path)} changed during the copy: sha256 ${sha}, verified ${wanted ?? 'nothing (not in the verified tree)'}; published metadata untouched`,
          );
        if (!(await sameContent(join(targetRoot, path), sha))) out.push(path);
      }
      return out;
    });
    const update = new Set(changed ?? []);
    // Renamed, not written in place, but file-lists is told of every path all the same.
    await markProductionDirty(
      ctx,
      all.filter((f) => update.has(f)).map((f) => join(targetRoot, f)),
    );
    const install = (list: string[]) =>
      ctx.step(`rename ${list.length} file(s) into place`, async () => {
        for (const path of list) {
          if (!update.has(path)) continue;
          await mkdir(dirname(join(targetRoot, path)), { recursive: true });
          await rename(join(scratch, path), join(targetRoot, path));
        }
      });
    await install(metadataFiles);
    await install(repomdFiles);
  } finally {
    await ctx.step(`remove scratch dir ${scratch}`, () => rm(scratch, { recursive: true, force: true }));
  }
  await ctx.step('remove metadata files no published repomd.xml names', async () => {
    for (const dir of repodataDirs) {
      const wanted = new Set(await namesIn(join(sourceRoot, dir)));
      for (const name of await namesIn(join(targetRoot, dir)))
        if (!wanted.has(name)) await rm(join(targetRoot, dir, name), { recursive: true, force: true });
    }
  });
}

async function sameContent(path: string, sha: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return !!info?.isFile() && (await sha256File(path)) === sha;
}
