import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { publishOwner } from '../filelist/trees.ts';
import type { OperationContext } from '../framework/context.ts';

/**
 * rsync argv for publishing: archive mode, numeric ids, and `--chown` to the configured owner
 * when we may chown (the seed's `rsync --chown 10004:10005`). Values are argv elements, never
 * shell text.
 */
export function rsyncBase(config: ReleaseConfig): string[] {
  const owner = publishOwner(config);
  return ['rsync', '-a', '--numeric-ids', ...(owner ? [`--chown=${owner.uid}:${owner.gid}`] : [])];
}

/**
 * Where publishing rsyncs write partial files: on the production mount (so the final rename
 * stays on one file system) but outside the mirror tree, so a killed copy never leaves a stray
 * `.name.XXXXXX` beside the packages for mirrors and file lists to find.
 */
export function publishTempDir(ctx: OperationContext): string {
  return join(ctx.root, ctx.config.mounts.production, '.releng', 'tmp');
}

/** Empties the temp dir of a killed run; the caller holds the publish lock. */
export async function resetPublishTemp(ctx: OperationContext): Promise<void> {
  await ctx.step('clear partial files a killed publish left', async () => {
    await rm(publishTempDir(ctx), { recursive: true, force: true });
    await mkdir(publishTempDir(ctx), { recursive: true });
  });
}

/** rsyncBase for copies into production: partial files go to the publish temp dir. */
export function rsyncCopy(ctx: OperationContext): string[] {
  return [...rsyncBase(ctx.config), `--temp-dir=${publishTempDir(ctx)}`];
}

/** One line of `rsync --itemize-changes`: what would change, and the size it would have. */
export interface ItemizedChange {
  /** `>f+++++++++`, `cd+++++++++`, `*deleting` … */
  item: string;
  path: string;
  /** New size in bytes (`%l`), for transfers. */
  size: number;
  /** The size it replaces, when the change list came from walks of both trees. */
  previousSize?: number;
}

/** `--out-format` that parseItemized reads: item, size, path, separated by tabs. */
export const ITEMIZE_FORMAT = '--out-format=%i\t%l\t%n';

export function parseItemized(stdout: string): ItemizedChange[] {
  const changes: ItemizedChange[] = [];
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    if (line.startsWith('*deleting')) {
      changes.push({ item: '*deleting', path: line.slice(line.lastIndexOf('\t') + 1), size: 0 });
      continue;
    }
    const [item, size, path] = line.split('\t', 3);
    if (item === undefined || path === undefined || !/^[<>ch.*][fdLDS]/.test(item)) continue;
    changes.push({ item, path, size: Number(size) });
  }
  return changes;
}

/** Whether an itemized line transfers content or creates something (not only attributes). */
export function isTransfer(change: ItemizedChange): boolean {
  return change.item !== '*deleting' && (change.item[0] === '>' || change.item[0] === 'c');
}
