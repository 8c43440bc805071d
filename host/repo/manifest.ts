import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Release, ReleasePaths } from '../../shared/release.ts';
import { sha256File, writeFileAtomic } from '../framework/fsutil.ts';
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

/**
 * A file's SHA-256 as last computed, with the inode facts it was computed under. The kernel
 * moves ctime (nanoseconds) on every write, rename or chmod and nothing in user space can set
 * it back, so an entry whose device, inode, size, mtime and ctime all still match is the same
 * bytes. This is what lets sync-to-prod re-check a 50,000-file release in the time of a stat
 * walk instead of re-reading every byte, and still refuse anything changed since approval.
 */
export interface HashCacheEntry {
  dev: string;
  ino: string;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  sha256: string;
}
export type HashCache = Map<string, HashCacheEntry>;

/** Reads a cache written by writeHashCache; a missing or unreadable one is empty (all re-hashed). */
export async function readHashCache(file: string): Promise<HashCache> {
  try {
    return new Map(
      Object.entries(JSON.parse(await readFile(file, 'utf8')) as Record<string, HashCacheEntry>),
    );
  } catch {
    return new Map();
  }
}

/** Where the caches live: beside the manifests, outside the trees mirrors see. */
export function hashCacheFiles(
  paths: ReleasePaths,
  release: Release,
): { staging: string; production: string } {
  return {
    staging: join(paths.staging, '.releng', 'hash-cache', `${release.stagingDirName}.json`),
    production: join(paths.production, '.releng', 'hash-cache', `${release.productionDirName}.json`),
  };
}

export async function writeHashCache(file: string, cache: HashCache): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(Object.fromEntries(cache)));
}

/**
 * Hashes every file under `releaseDir` (a few at a time: it is I/O bound), reusing `cache`
 * entries whose inode facts still match. Returns the content and the cache for what is there now.
 */
export async function computeStagedContent(
  releaseDir: string,
  options: { hashJobs?: number; cache?: HashCache } = {},
): Promise<StagedContent & { cache: HashCache }> {
  const paths: string[] = [];
  const links: string[] = [];
  await walk(releaseDir, '', paths, links);
  paths.sort();
  links.sort();
  const cache: HashCache = new Map();
  const files = await mapLimit(paths, options.hashJobs ?? 4, async (path) => {
    const full = join(releaseDir, path);
    const stat = await lstat(full, { bigint: true });
    const facts = {
      dev: String(stat.dev),
      ino: String(stat.ino),
      size: Number(stat.size),
      mtimeNs: String(stat.mtimeNs),
      ctimeNs: String(stat.ctimeNs),
    };
    const known = options.cache?.get(path);
    const unchanged =
      known &&
      known.dev === facts.dev &&
      known.ino === facts.ino &&
      known.size === facts.size &&
      known.mtimeNs === facts.mtimeNs &&
      known.ctimeNs === facts.ctimeNs;
    const sha256 = unchanged ? known.sha256 : await sha256File(full);
    cache.set(path, { ...facts, sha256 });
    return { path, size: facts.size, sha256 };
  });
  const symlinks = await Promise.all(
    links.map(async (path) => ({ path, target: await readlink(join(releaseDir, path)) })),
  );
  return { files, symlinks, cache };
}

/** The digest an approval names: SHA-256 over one canonical line per file and symlink. */
export function contentDigest(content: StagedContent): string {
  const hash = createHash('sha256');
  for (const f of content.files) hash.update(`f\t${f.size}\t${f.sha256}\t${f.path}\n`);
  for (const l of content.symlinks) hash.update(`l\t${l.target}\t${l.path}\n`);
  return hash.digest('hex');
}

/** Files added to, changed in and removed from `production` if `staged` were published. */
export function diffAgainst(
  staged: StagedContent,
  prod: StagedContent,
): { added: number; changed: number; removed: number } {
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
