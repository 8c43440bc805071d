import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Release, ReleasePaths } from '../../shared/release.ts';
import { sha256, sha256File, writeFileAtomic } from '../framework/fsutil.ts';
import { mapLimit } from './parallel.ts';
import { entrySize, entryType, linkTarget, type TreeEntry, walkTree } from './tree-walk.ts';

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
  /** The walk's identity and attrs of the file, as one string. */
  facts: string;
  sha256: string;
}
export type HashCache = Map<string, HashCacheEntry>;

/** First record of a cache file; then `facts`, `sha256` and `path` per file, each NUL-terminated. */
const HASH_CACHE_HEADER = 'releng-hash-cache 3';

/** Reads a cache written by writeHashCache; a missing or unreadable one is empty (all re-hashed). */
export async function readHashCache(file: string): Promise<HashCache> {
  const cache: HashCache = new Map();
  const fields = await readFile(file, 'utf8').then(
    (text) => text.split('\0'),
    () => [],
  );
  if (fields[0] !== HASH_CACHE_HEADER) return cache;
  for (let i = 1; i + 2 < fields.length; i += 3)
    cache.set(fields[i + 2]!, { facts: fields[i]!, sha256: fields[i + 1]! });
  return cache;
}

/**
 * Host-local state the publish trusts without reading staged bytes: the hash caches and the
 * records of verified digests. It lives on the compose host's own disk, on no mount, so a writer
 * of the staging (or production) file system cannot forge an entry. Losing it costs a full
 * re-hash and a fresh verify-staging, never a wrong publish.
 */
export function hostStateDir(root: string): string {
  return join(root, 'var', 'lib', 'releng');
}

/** Where the caches live: host-local (hostStateDir), one per tree and release. */
export function hashCacheFiles(
  paths: ReleasePaths,
  release: Release,
): { staging: string; production: string } {
  const dir = join(hostStateDir(paths.root), 'hash-cache');
  return {
    staging: join(dir, 'staging', `${release.stagingDirName}.hashes`),
    production: join(dir, 'production', `${release.productionDirName}.hashes`),
  };
}

/** Writes the cache; an unchanged one is left as it is (a rerun changes nothing). */
export async function writeHashCache(file: string, cache: HashCache): Promise<void> {
  // In path order: the same cache is the same text, whatever order its files were hashed in.
  const records = [...cache]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, e]) => `${e.facts}\0${e.sha256}\0${path}\0`);
  const text = `${HASH_CACHE_HEADER}\0${records.join('')}`;
  if ((await readFile(file, 'utf8').catch(() => undefined)) === text) return;
  await writeFileAtomic(file, text);
}

const factsOf = (entry: TreeEntry) => `${entry.identity}\t${entry.attrs}`;

/**
 * Hashes every file under `releaseDir` (a few at a time: it is I/O bound), reusing `cache`
 * entries whose inode facts still match. `entries` is the tree's walk when the caller has one.
 * Returns the content and the cache for what is there now.
 */
export async function computeStagedContent(
  releaseDir: string,
  options: { hashJobs?: number; cache?: HashCache; entries?: TreeEntry[] } = {},
): Promise<StagedContent & { cache: HashCache }> {
  const entries = options.entries ?? (await walkTree(releaseDir));
  const cache: HashCache = new Map();
  const files: StagedFile[] = [];
  const symlinks: StagedContent['symlinks'] = [];
  const unknown: Array<{ file: StagedFile; facts: string }> = [];
  for (const entry of entries) {
    const type = entryType(entry);
    if (type === 'l') symlinks.push({ path: entry.path, target: linkTarget(entry) });
    if (type !== 'f') continue;
    const facts = factsOf(entry);
    const known = options.cache?.get(entry.path);
    const file = { path: entry.path, size: entrySize(entry), sha256: known?.sha256 ?? '' };
    if (known?.facts === facts) cache.set(file.path, known);
    else unknown.push({ file, facts });
    files.push(file);
  }
  await mapLimit(unknown, options.hashJobs ?? 4, async ({ file, facts }) => {
    file.sha256 = await hashFile(join(releaseDir, file.path), file.size);
    cache.set(file.path, { facts, sha256: file.sha256 });
  });
  return { files, symlinks, cache };
}

/** The digest an approval names: SHA-256 over one canonical line per file and symlink. */
export function contentDigest(content: StagedContent): string {
  const hash = createHash('sha256');
  const lines = [
    ...content.files.map((f) => `f\t${f.size}\t${f.sha256}\t${f.path}\n`),
    ...content.symlinks.map((l) => `l\t${l.target}\t${l.path}\n`),
  ];
  // Fed in batches: one update call per line costs more than the hashing itself.
  for (let i = 0; i < lines.length; i += 4096) hash.update(lines.slice(i, i + 4096).join(''));
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
