import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { OperationContext } from '../framework/context.ts';
import { writeFileAtomic } from '../framework/fsutil.ts';
import { withoutEmptyOpenSize } from './repomd.ts';

/**
 * Edits of an existing repo's metadata that every step shares: adding a metadata file with
 * modifyrepo_c (from a private temp copy named as the record, never a shared /tmp name), and
 * the seed's clean-up of empty open-size lines.
 */
export async function addRepoMetadata(
  ctx: OperationContext,
  repoDir: string,
  file: string,
  mdtype: 'modules' | 'updateinfo',
  compress: 'xz' | 'gz',
): Promise<void> {
  const tmp = await mkdtemp(join(repoDir, '.releng-md-'));
  try {
    const named = join(tmp, `${mdtype}.${file.endsWith('.yaml') ? 'yaml' : 'xml'}`);
    await copyFile(file, named);
    await ctx.run([
      'modifyrepo_c',
      `--mdtype=${mdtype}`,
      `--compress-type=${compress}`,
      named,
      join(repoDir, 'repodata'),
    ]);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  await fixOpenSize(repoDir);
}

/** Drops `<open-size></open-size>` lines from repomd.xml; rewrites only when there were some. */
export async function fixOpenSize(repoDir: string): Promise<boolean> {
  const path = join(repoDir, 'repodata', 'repomd.xml');
  if (!existsSync(path)) return false;
  const xml = await readFile(path, 'utf8');
  const fixed = withoutEmptyOpenSize(xml);
  if (fixed === xml) return false;
  await writeFileAtomic(path, fixed);
  return true;
}
