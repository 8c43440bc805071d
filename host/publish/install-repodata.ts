import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { markProductionDirty } from '../filelist/journal.ts';
import type { OperationContext } from '../framework/context.ts';
import { namesIn } from './repodata.ts';
import { rsyncCopy } from './rsync.ts';

const REPOMD = new Set(['repomd.xml', 'repomd.xml.asc']);

/**
 * Replaces repodata dirs under `targetRoot` with those under `sourceRoot` (same relative
 * paths) in the order a reader can follow: the new metadata files first (nothing names them
 * yet), then every repomd.xml with its .asc (`--delay-updates` renames them in one burst at the
 * end, each pair side by side), then the files no repomd.xml names any more. Killed at any
 * point, each repomd.xml names only files that exist. Used by publish and by rollback.
 */
export async function installRepodata(
  ctx: OperationContext,
  sourceRoot: string,
  targetRoot: string,
  repodataDirs: string[],
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
  const copy = (list: string[]) =>
    ctx.run(
      [
        ...rsyncCopy(ctx),
        '--checksum',
        '--delay-updates',
        '--mkpath',
        '--files-from=-',
        '--from0',
        `${sourceRoot}/`,
        `${targetRoot}/`,
      ],
      { input: `${list.join('\0')}\0` },
    );
  // --checksum updates only the mtime of a file whose bytes match, in place: no directory stamp
  // moves, so file-lists must be told.
  await markProductionDirty(
    ctx,
    [...metadataFiles, ...repomdFiles].map((f) => join(targetRoot, f)),
  );
  if (metadataFiles.length) await copy(metadataFiles);
  if (repomdFiles.length) await copy(repomdFiles.sort());
  await ctx.step('remove metadata files no published repomd.xml names', async () => {
    for (const dir of repodataDirs) {
      const wanted = new Set(await namesIn(join(sourceRoot, dir)));
      for (const name of await namesIn(join(targetRoot, dir)))
        if (!wanted.has(name)) await rm(join(targetRoot, dir, name), { recursive: true, force: true });
    }
  });
}
