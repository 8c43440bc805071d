import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../framework/fsutil.ts';
import { mapLimit } from './parallel.ts';

/**
 * The byte-for-byte identity of a staged release: every regular file's path, size and SHA-256
 * and every symlink's target, in path order. verify-staging computes it and names its digest
 * for approval; sync-to-prod recomputes it from the staged tree and refuses to publish when
 * the digest differs from the approved one.
 */
export interface StagedFile {
  path: string;
  size: number;
  sha256: string;
}

export interface StagedContent {
  files: StagedFile[];
  symlinks: { path: string; target: string }[];
}

async function walk(root: string, rel: string, files: string[], links: string[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(join(root, rel), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && rel === '') return;
    throw err;
  }
  for (const entry of entries) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isSymbolicLink()) links.push(path);
    else if (entry.isDirectory()) await walk(root, path, files, links);
    else if (entry.isFile()) files.push(path);
  }
}

/** Hashes every file under `releaseDir` (a few at a time: it is I/O bound). */
export async function computeStagedContent(releaseDir: string, hashJobs = 4): Promise<StagedContent> {
  const paths: string[] = [];
  const links: string[] = [];
  await walk(releaseDir, '', paths, links);
  paths.sort();
  links.sort();
  const files = await mapLimit(paths, hashJobs, async (path) => {
    const full = join(releaseDir, path);
    const [stat, sha256] = await Promise.all([lstat(full), sha256File(full)]);
    return { path, size: stat.size, sha256 };
  });
  const symlinks = await Promise.all(
    links.map(async (path) => ({ path, target: await readlink(join(releaseDir, path)) })),
  );
  return { files, symlinks };
}

/** The digest an approval names: SHA-256 over one canonical line per file and symlink. */
export function contentDigest(content: StagedContent): string {
  const hash = createHash('sha256');
  for (const f of content.files) hash.update(`f\t${f.size}\t${f.sha256}\t${f.path}\n`);
  for (const l of content.symlinks) hash.update(`l\t${l.target}\t${l.path}\n`);
  return hash.digest('hex');
}

/** Files added to, changed in and removed from `production` if `staged` were published. */
export async function diffAgainst(
  staged: StagedContent,
  productionDir: string,
): Promise<{ added: number; changed: number; removed: number }> {
  const prod = await computeStagedContent(productionDir);
  const before = new Map(prod.files.map((f) => [f.path, f]));
  const after = new Set(staged.files.map((f) => f.path));
  let added = 0;
  let changed = 0;
  for (const f of staged.files) {
    const old = before.get(f.path);
    if (!old) added++;
    else if (old.sha256 !== f.sha256) changed++;
  }
  const removed = prod.files.filter((f) => !after.has(f.path)).length;
  return { added, changed, removed };
}
