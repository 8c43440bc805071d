import { mkdirSync, mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  computeStagedContent,
  contentDigest,
  readHashCache,
  writeHashCache,
} from '../../host/repo/manifest.ts';

function tree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'releng-hashcache-'));
  mkdirSync(join(dir, 'BaseOS/x86_64/os/Packages/b'), { recursive: true });
  writeFileSync(join(dir, 'BaseOS/x86_64/os/Packages/b/bash-4.4.rpm'), 'bash payload');
  writeFileSync(join(dir, 'BaseOS/x86_64/os/repomd.xml'), '<repomd/>');
  return dir;
}

describe('the staged-content hash cache', () => {
  it('gives the digest a full re-read gives, and reads nothing it already knows', async () => {
    const dir = tree();
    const full = await computeStagedContent(dir);
    const cacheFile = join(mkdtempSync(join(tmpdir(), 'releng-cache-')), 'cache.json');
    await writeHashCache(cacheFile, full.cache);
    const cache = await readHashCache(cacheFile);
    // A poisoned entry with the right inode facts shows the cache is used, not re-read.
    const entry = cache.get('BaseOS/x86_64/os/repomd.xml')!;
    cache.set('BaseOS/x86_64/os/repomd.xml', { ...entry, sha256: '0'.repeat(64) });
    const cached = await computeStagedContent(dir, { cache });
    expect(cached.files.find((f) => f.path.endsWith('repomd.xml'))!.sha256).toBe('0'.repeat(64));
    expect(contentDigest(await computeStagedContent(dir, { cache: full.cache }))).toBe(contentDigest(full));
  });

  it('re-reads a file rewritten with the same size and mtime: its ctime moved', async () => {
    const dir = tree();
    const before = await computeStagedContent(dir);
    const rpm = join(dir, 'BaseOS/x86_64/os/Packages/b/bash-4.4.rpm');
    const { atime, mtime } = statSync(rpm);
    writeFileSync(rpm, 'evil payload'); // same length
    utimesSync(rpm, atime, mtime);
    const after = await computeStagedContent(dir, { cache: before.cache });
    expect(after.files.find((f) => f.path.endsWith('.rpm'))!.size).toBe(12);
    expect(contentDigest(after)).not.toBe(contentDigest(before));
  });

  it('an unreadable cache file is an empty cache, so everything is hashed', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'releng-cache-')), 'cache.json');
    writeFileSync(file, '{ not json');
    expect((await readHashCache(file)).size).toBe(0);
  });
});
