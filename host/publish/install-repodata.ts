import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { markProductionDirty } from '../filelist/journal.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import { sha256File, writeFileAtomic } from '../framework/fsutil.ts';
import { namesIn } from './repodata.ts';
import { publishTempDir, rsyncBase } from './rsync.ts';

const REPOMD = new Set(['repomd.xml', 'repomd.xml.asc']);

/** The SHA-256 a file (relative to the source root) must have, or undefined for any. */
export type ExpectedSha256 = (path: string) => string | undefined;

export interface InstallOptions {
  /** Each copied file is checked against this before anything is renamed in. */
  expected?: ExpectedSha256;
  /** Called right before the first rename: throws when this run may no longer write (a lost lease). */
  fence?: () => Promise<void>;
}

/**
 * Replaces repodata dirs under `targetRoot` with those under `sourceRoot` (same relative
 * paths) in the order a reader can follow: the new metadata files first (nothing names them
 * yet), then each repomd.xml with its .asc right after it, then the files no repomd.xml names
 * any more are removed. Files arrive through installChecked: nothing partial or unchecked is
 * ever under the tree, and killed at any point each repomd.xml names only files that exist.
 * Used by publish and by rollback.
 */
export async function installRepodata(
  ctx: OperationContext,
  sourceRoot: string,
  targetRoot: string,
  repodataDirs: string[],
  options: InstallOptions = {},
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
  await installChecked(ctx, sourceRoot, targetRoot, [metadataFiles, repomdFiles.sort()], options);
  const graceHours = ctx.config.metadataGraceHours;
  await ctx.step(`remove metadata files no published repomd.xml has named for ${graceHours} h`, async () => {
    const ledger = await SupersededLedger.open(join(dirname(publishTempDir(ctx)), 'superseded.json'));
    const now = ctx.clock.now().getTime();
    for (const dir of repodataDirs) {
      const wanted = new Set(await namesIn(join(sourceRoot, dir)));
      for (const name of await namesIn(join(targetRoot, dir))) {
        const path = join(targetRoot, dir, name);
        if (wanted.has(name)) {
          ledger.forget(path);
          continue;
        }
        // A mirror part-way through a sync still follows the previous repomd.xml.
        const since = ledger.since(path, now);
        if (now - since >= graceHours * 3600_000) {
          await rm(path, { recursive: true, force: true });
          ledger.forget(path);
        }
      }
    }
    await ledger.save();
  });
}

/**
 * When each metadata file stopped being named by a published repomd.xml, kept beside the
 * publish temp dir (the production mount, outside the mirror tree).
 */
class SupersededLedger {
  private constructor(
    private readonly file: string,
    private readonly entries: Record<string, number>,
  ) {}

  static async open(file: string): Promise<SupersededLedger> {
    const text = await readFile(file, 'utf8').catch(() => '{}');
    let entries: Record<string, number> = {};
    try {
      entries = JSON.parse(text) as Record<string, number>;
    } catch {
      // A damaged ledger only restarts the grace periods.
    }
    return new SupersededLedger(file, entries);
  }

  since(path: string, now: number): number {
    if (!Object.hasOwn(this.entries, path)) this.entries[path] = now;
    return this.entries[path]!;
  }

  forget(path: string): void {
    delete this.entries[path];
  }

  async save(): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify(this.entries, null, 1)}\n`);
  }
}

/**
 * Installs regular files (relative paths) from `sourceRoot` into `targetRoot`: all are copied
 * whole into a scratch dir outside the mirror tree on the same file system (the publish temp
 * dir) and, with `expected`, each is checked there against its verified SHA-256; only then are
 * those that differ from the target (content or mode) renamed in, group after group.
 * Out of space or killed, nothing is under the tree but whole, checked files.
 */
export async function installChecked(
  ctx: OperationContext,
  sourceRoot: string,
  targetRoot: string,
  groups: string[][],
  { expected, fence }: InstallOptions = {},
): Promise<void> {
  const all = groups.flat();
  if (!all.length) return;
  const scratch = join(publishTempDir(ctx), `install-${randomBytes(6).toString('hex')}`);
  await ctx.step(`make scratch dir ${scratch}`, () => mkdir(scratch, { recursive: true }));
  try {
    await ctx.run([...rsyncBase(ctx.config), '--files-from=-', '--from0', `${sourceRoot}/`, `${scratch}/`], {
      input: `${all.join('\0')}\0`,
    });
    const changed = await ctx.step(`check ${all.length} copied file(s) and pick what differs`, async () => {
      const out: string[] = [];
      for (const path of all) {
        const sha = await sha256File(join(scratch, path));
        const wanted = expected?.(path);
        if (expected && sha !== wanted)
          throw new HostOperationError(
            `${join(sourceRoot, path)} changed during the copy: sha256 ${sha}, verified ${wanted ?? 'nothing (not in the verified tree)'}; published metadata untouched`,
          );
        if (!(await alreadyInPlace(join(scratch, path), join(targetRoot, path), sha))) out.push(path);
      }
      return out;
    });
    const update = new Set(changed ?? []);
    await fence?.();
    // Renamed, never written in place, but file-lists is told of every path all the same.
    await markProductionDirty(
      ctx,
      all.filter((f) => update.has(f)).map((f) => join(targetRoot, f)),
    );
    for (const group of groups)
      await ctx.step(`rename ${group.length} file(s) into place`, async () => {
        for (const path of group) {
          if (!update.has(path)) continue;
          await mkdir(dirname(join(targetRoot, path)), { recursive: true });
          await rename(join(scratch, path), join(targetRoot, path));
        }
      });
  } finally {
    await ctx.step(`remove scratch dir ${scratch}`, () => rm(scratch, { recursive: true, force: true }));
  }
}

/**
 * Whether `target` already holds `copy`: same bytes (`sha` is the copy's) and mode, and an
 * mtime no older (a newer staged mtime is published; an older one never moves it back). When
 * it does not, sets the copy's mtime to the one it must replace `target` with.
 */
async function alreadyInPlace(copy: string, target: string, sha: string): Promise<boolean> {
  const [a, b] = await Promise.all([stat(copy), stat(target).catch(() => undefined)]);
  if (!b?.isFile()) return false;
  const sameBytes = a.size === b.size && (await sha256File(target)) === sha;
  if (sameBytes) {
    if (a.mode === b.mode && b.mtimeMs >= a.mtimeMs) return true;
    // Renamed in for its mode or a newer mtime; its mtime never moves back.
    if (b.mtimeMs > a.mtimeMs) await utimes(copy, a.atime, b.mtime);
    return false;
  }
  // Mirrors pulling with plain `rsync -a` compare size and whole-second mtime only: new bytes
  // matching both (repomd.xml re-signed within the second) would never reach them, so a
  // same-size replacement's mtime always moves forward.
  const second = Math.floor(b.mtimeMs / 1000);
  if (a.size === b.size && Math.floor(a.mtimeMs / 1000) <= second) await utimes(copy, a.atime, second + 1);
  return false;
}
