import type { Dirent } from 'node:fs';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, realpath, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { isFinished, readComposeStatus } from '../compose/pungi.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import { copyByList } from './copy-by-list.ts';
import { mapLimit } from './parallel.ts';

/**
 * The staging sync of the seed (depth-2 dirs, parallel rsync, --relative), made mirror-safe:
 * pass 1 copies every unit without its repodata (by exact list through a shadow dir, see
 * copy-by-list.ts), pass 2 copies the repodata once every package of every repo is in place,
 * each repodata dir landing at once (--delay-updates). Temp files and the shadow live in a
 * per-lane dir that a rerun clears, so a killed sync leaves no half-written file in the tree
 * and a rerun finishes it.
 */

export interface ComposeSource {
  /** The compose dir the latest- link pointed at when the sync started (it may move later). */
  composeDir: string;
  composeId: string;
}

/** Resolves a latest- link and refuses a compose that is missing or not finished. */
export async function finishedCompose(link: string, what: string): Promise<ComposeSource> {
  if (!existsSync(link))
    throw new HostOperationError(`${what}: ${link} does not exist (no finished compose yet)`);
  const composeDir = await realpath(link);
  const status = await readComposeStatus(composeDir);
  if (!isFinished(status))
    throw new HostOperationError(
      `${what}: compose ${composeDir} is ${status ?? 'without STATUS'}, not FINISHED`,
    );
  const composeId = composeDir.split('/').at(-1)!;
  return { composeDir, composeId };
}

async function entries(dir: string): Promise<Dirent[]> {
  return (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
}

/** The seed's units: every entry two levels down (`BaseOS/x86_64`, `BaseOS/source`). */
export async function depthTwoUnits(tree: string, skipTop: readonly string[] = []): Promise<string[]> {
  const units: string[] = [];
  for (const top of await entries(tree)) {
    if (!top.isDirectory() || skipTop.includes(top.name)) continue;
    for (const sub of await entries(join(tree, top.name))) units.push(`${top.name}/${sub.name}`);
  }
  return units;
}

/** repodata dirs under `dir`, relative to `base`; Packages dirs are not walked. */
export async function repodataDirs(base: string, dir: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (d: string) => {
    for (const e of await entries(d).catch(() => [] as Dirent[])) {
      if (!e.isDirectory() || e.name === 'Packages') continue;
      if (e.name === 'repodata') found.push(relative(base, join(d, e.name)));
      else await visit(join(d, e.name));
    }
  };
  await visit(dir);
  return found;
}

/**
 * Spreads items round-robin over at most `workers` batches: one rsync per batch, since each
 * rsync process costs more than the files of a small repo, while `workers` of them still
 * overlap the latency of a network file system (the seed ran 18).
 */
export function batches<T>(items: readonly T[], workers: number): T[][] {
  const out: T[][] = Array.from({ length: Math.max(1, Math.min(workers, items.length)) }, () => []);
  for (const [i, item] of items.entries()) out[i % out.length]!.push(item);
  return out.filter((b) => b.length > 0);
}

export interface TreeSync {
  /** Dir whose units are copied (`…/compose`). */
  source: string;
  target: string;
  units: string[];
  /** SIG trees mirror the compose: files gone from it are deleted, after its repodata landed. */
  deleteMissing: boolean;
  /** rsync patterns the delete must spare (what staging adds inside a unit: the frozen kickstart). */
  protect?: readonly string[];
  /** rsync's temp dir on the target's file system, cleared before the run. */
  tempDir: string;
}

function rsyncBase(config: ReleaseConfig, tempDir: string): string[] {
  const argv = ['rsync', '-a', '--relative', `--temp-dir=${tempDir}`];
  // Ownership as configured; only root may give files away (the seed ran rsync under sudo).
  if (process.getuid?.() === 0) argv.push(`--chown=${config.owner.uid}:${config.owner.gid}`);
  return argv;
}

export async function syncTree(
  ctx: OperationContext,
  sync: TreeSync,
): Promise<{ units: number; repodata: number }> {
  const base = rsyncBase(ctx.config, sync.tempDir);
  await ctx.step(`clear rsync temp dir ${sync.tempDir}`, async () => {
    await rm(sync.tempDir, { recursive: true, force: true });
    await mkdir(sync.tempDir, { recursive: true });
    await mkdir(sync.target, { recursive: true });
  });
  const at = (unit: string) => `${sync.source}/./${unit}`;
  const target = `${sync.target}/`;
  const jobs = ctx.config.syncJobs;
  // Pass 1: packages and everything else but repodata, the units spread over the workers.
  await copyByList(ctx, {
    source: sync.source,
    target: sync.target,
    units: sync.units,
    batches: batches(sync.units, jobs),
    shadow: join(sync.tempDir, 'shadow'),
    rsync: base.filter((a) => !a.startsWith('--temp-dir=') && a !== '--relative'),
    ...(process.getuid?.() === 0 ? { owner: ctx.config.owner } : {}),
    jobs,
  });
  // Pass 2: repodata, each dir landing at once; for deleting syncs (SIG trees, Rocky 9's
  // staging) the deletes come last, inside the synced units only.
  const repodata = (
    await Promise.all(sync.units.map((u) => repodataDirs(sync.source, join(sync.source, u))))
  ).flat();
  if (sync.deleteMissing) {
    await mapLimit(batches(sync.units, jobs), jobs, (batch) =>
      ctx.run([
        ...base,
        '--delay-updates',
        '--delete-after',
        ...(sync.protect ?? []).map((p) => `--filter=P ${p}`),
        ...batch.map(at),
        target,
      ]),
    );
  } else {
    await mapLimit(batches(repodata, jobs), jobs, (batch) =>
      ctx.run([...base, '--delay-updates', ...batch.map(at), target]),
    );
  }
  return { units: sync.units.length, repodata: repodata.length };
}

/** Copies files (COMPOSE_ID) and dirs (metadata/) from a compose to the target's top level. */
export async function syncTopLevel(
  ctx: OperationContext,
  sync: TreeSync,
  items: { from: string; name: string }[],
) {
  const base = rsyncBase(ctx.config, sync.tempDir).filter((a) => a !== '--relative');
  for (const item of items) {
    if (!existsSync(item.from)) throw new HostOperationError(`${item.from} is missing from the compose`);
    const isDir = statSync(item.from).isDirectory();
    await ctx.run([
      ...base,
      '--delay-updates',
      isDir ? `${item.from}/` : item.from,
      join(sync.target, item.name) + (isDir ? '/' : ''),
    ]);
  }
}
