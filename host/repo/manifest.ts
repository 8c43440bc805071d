import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Release, ReleasePaths } from '../../shared/release.ts';
import { execFile } from '../framework/exec.ts';
import { sha256, sha256File, writeFileAtomic } from '../framework/fsutil.ts';
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

interface TreeEntry {
  path: string;
  type: 'f' | 'l';
  dev: string;
  ino: string;
  size: number;
  mtime: string;
  ctime: string;
  target: string;
}

/**
 * Every regular file and symlink under `root` with its inode facts, from one `find -printf`
 * (a stat walk in C is several times faster than one from Node). Times are find's
 * `seconds.nanoseconds`, so the cache compares them to the nanosecond.
 */
async function statTree(root: string): Promise<TreeEntry[]> {
  if (!existsSync(root)) return [];
  const { stdout } = await execFile(
    ['find', '.', '-mindepth', '1', '-printf', '%y\\t%D\\t%i\\t%s\\t%T@\\t%C@\\t%l\\t%P\\0'],
    {
      cwd: root,
    },
  );
  const entries: TreeEntry[] = [];
  for (const record of stdout.split('\0')) {
    if (!record) continue;
    const [type, dev, ino, size, mtime, ctime, target, ...rest] = record.split('\t');
    if (type !== 'f' && type !== 'l') continue;
    entries.push({
      path: rest.join('\t'),
      type,
      dev: dev!,
      ino: ino!,
      size: Number(size),
      mtime: mtime!,
      ctime: ctime!,
      target: target!,
    });
  }
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Small files are read whole; large ones streamed, so memory stays flat. */
async function hashFile(path: string, size: number): Promise<string> {
  return size < 4 * 1024 * 1024 ? sha256(await readFile(path)) : sha256File(path);
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
  mtime: string;
  ctime: string;
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
  const entries = await statTree(releaseDir);
  const cache: HashCache = new Map();
  const files = await mapLimit(
    entries.filter((e) => e.type === 'f'),
    options.hashJobs ?? 4,
    async ({ path, dev, ino, size, mtime, ctime }) => {
      const known = options.cache?.get(path);
      const unchanged =
        known &&
        known.dev === dev &&
        known.ino === ino &&
        known.size === size &&
        known.mtime === mtime &&
        known.ctime === ctime;
      const sha = unchanged ? known.sha256 : await hashFile(join(releaseDir, path), size);
      cache.set(path, { dev, ino, size, mtime, ctime, sha256: sha });
      return { path, size, sha256: sha };
    },
  );
  const symlinks = entries.filter((e) => e.type === 'l').map(({ path, target }) => ({ path, target }));
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
