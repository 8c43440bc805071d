import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedPackageStore, userCacheDir } from '../../cli/demo/store-cache.ts';

/**
 * The demo's package store is built once per version of the demo's sources into a template in
 * the user's cache and copied per root: each copy must be a store of its own (its paths, its
 * gpg home), not a view of the template.
 */
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'releng-store-cache-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const gpgSecretKeys = (home: string) =>
  execFileSync('gpg', ['--batch', '--with-colons', '--list-secret-keys'], {
    env: { ...process.env, GNUPGHOME: home },
    encoding: 'utf8',
  });

describe('cachedPackageStore', () => {
  it('builds the template once, then copies it to each root with that root in every path', {
    timeout: 120_000,
  }, async () => {
    const cacheDir = join(work, 'cache');
    const first = await cachedPackageStore(join(work, 'a'), { cacheDir, stage: 'demo' });
    const second = await cachedPackageStore(join(work, 'b'), { cacheDir, stage: 'demo' });

    expect(first.built).toBe(true);
    expect(second.built).toBe(false);
    expect(second.template).toBe(first.template);
    expect((await readdir(cacheDir)).filter((name) => name.includes('.building-'))).toEqual([]);

    const b = second.store;
    expect(b.root).toBe(join(work, 'b'));
    expect(b.configPath).toBe(join(work, 'b', 'releng.config.json'));
    expect(b.key.gpgHome).toBe(join(work, 'b', 'etc', 'releng', 'gnupg'));
    expect(b.advisories).toEqual(['RLBA-2026:0001']);
    const config = await readFile(b.configPath, 'utf8');
    expect(config).toContain(join(work, 'b', 'git', 'pungi-rocky.git'));
    expect(config).not.toContain(first.template!);
    // The copy's own gpg home holds the secret key, private to its owner.
    expect(((await stat(b.key.gpgHome)).mode & 0o777).toString(8)).toBe('700');
    expect(gpgSecretKeys(b.key.gpgHome)).toContain(b.key.fingerprint);
    // The same signed packages, the update tagged.
    const tag = JSON.parse(await readFile(join(b.koji, 'tags', 'dist-rocky8-updates-build.json'), 'utf8'));
    expect(tag.builds.map((build: { nvr: string }) => build.nvr)).toContain('demo-hello-1.1-1.el8');
    // The demo SIG's compose, its latest link still relative (not into the template).
    const link = join(work, 'b', 'mnt', 'compose', '8', 'latest-SIG-kernel-8');
    expect(await readlink(link)).toBe('SIG-kernel-8-20260101.0');
    expect(await readdir(join(link, 'compose', '8', 'kernel', 'x86_64', 'os', 'Packages'))).toEqual([
      'demo-kernel-sig-1.0-1.el8.noarch.rpm',
    ]);
  });

  it('gives a root with a space in its path file:// git URLs that git reads', {
    timeout: 120_000,
  }, async () => {
    const root = join(work, 'release work', 'root');
    const { store } = await cachedPackageStore(root, { cacheDir: join(work, 'cache'), stage: 'demo' });
    const config = JSON.parse(await readFile(store.configPath, 'utf8'));
    const url = config.majors['8'].git.pungi.url as string;
    expect(url).toBe(pathToFileURL(join(root, 'git', 'pungi-rocky.git')).href);
    expect(execFileSync('git', ['ls-remote', url, 'r8'], { encoding: 'utf8' })).toMatch(/refs\/heads\/r8/);
    expect(store.configOverrides).toEqual(config);
  });

  it('keeps the stages apart: the initial store has no update tagged', { timeout: 120_000 }, async () => {
    const { store } = await cachedPackageStore(join(work, 'c'), { cacheDir: join(work, 'cache') });
    expect(store.advisories).toEqual([]);
    const tag = JSON.parse(
      await readFile(join(store.koji, 'tags', 'dist-rocky8-updates-build.json'), 'utf8'),
    );
    expect(tag.builds.map((build: { nvr: string }) => build.nvr)).not.toContain('demo-hello-1.1-1.el8');
  });

  it('builds in place when the cache dir cannot be made', { timeout: 120_000 }, async () => {
    const blocker = join(work, 'not-a-dir');
    await writeFile(blocker, '');
    const result = await cachedPackageStore(join(work, 'd'), { cacheDir: join(blocker, 'releng') });
    expect(result.template).toBeUndefined();
    expect(gpgSecretKeys(result.store.key.gpgHome)).toContain(result.store.key.fingerprint);
  });

  it('lives in $XDG_CACHE_HOME/releng, else ~/.cache/releng', () => {
    expect(userCacheDir({ XDG_CACHE_HOME: '/var/cache/u' })).toBe('/var/cache/u/releng');
    expect(userCacheDir({ XDG_CACHE_HOME: 'relative' })).toMatch(/\/\.cache\/releng$/);
    expect(userCacheDir({})).toMatch(/\/\.cache\/releng$/);
  });
});
