import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from '../../host/framework/exec.ts';
import { sha256File } from '../../host/framework/fsutil.ts';
import { recordVerified } from '../../host/publish/verified.ts';
import {
  computeStagedContent,
  contentDigest,
  hashCacheFiles,
  readHashCache,
  writeHashCache,
} from '../../host/repo/manifest.ts';
import { parseRepomd } from '../../host/repo/repomd.ts';
import { findRepoDirs } from '../../host/repo/walk.ts';
import { buildConfig } from '../../shared/config/load.ts';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { releasePaths, resolveRelease } from '../../shared/release.ts';
import { buildRpm, generateSigningKey, type RpmSpec, type SigningKey, signRpms } from '../support/rpm.ts';

/**
 * Real release trees for the production tests: rpmbuild packages signed with a throwaway key,
 * createrepo_c repos whose repomd.xml is detach-signed, the way staging looks after sign-repos.
 */

export interface PackageSet {
  key: SigningKey;
  publicKey: string;
  /** Built and signed RPM paths by NVR.arch, e.g. `hello-1.0-1.noarch`. */
  rpms: Record<string, string>;
}

export async function buildPackages(dir: string, specs: RpmSpec[]): Promise<PackageSet> {
  const key = await generateSigningKey(join(dir, 'gnupg'), 'Prod Test <prod-test@rocky.invalid>');
  const rpms: Record<string, string> = {};
  for (const spec of specs) {
    const built = await buildRpm(spec, join(dir, 'rpmbuild'));
    rpms[`${spec.name}-${spec.version}-${spec.release}.${spec.arch}`] = built.binaries[0]!;
  }
  await signRpms(key, Object.values(rpms));
  const publicKey = join(dir, 'RPM-GPG-KEY-test');
  const exported = await execFile(['gpg', '--batch', '--armor', '--export', key.keyId], {
    env: { ...process.env, GNUPGHOME: key.gpgHome },
  });
  await writeFile(publicKey, exported.stdout);
  return { key, publicKey, rpms };
}

export const noarch = (name: string, version: string): RpmSpec => ({
  name,
  version,
  release: '1',
  arch: 'noarch',
});

/** Detach-signs repodata/repomd.xml as sign-repos does. */
export async function signRepomd(key: SigningKey, repoDir: string): Promise<void> {
  const repomd = join(repoDir, 'repodata', 'repomd.xml');
  await execFile(
    [
      'gpg',
      '--batch',
      '--yes',
      '--local-user',
      key.keyId,
      '--armor',
      '--detach-sign',
      '--output',
      `${repomd}.asc`,
      repomd,
    ],
    { env: { ...process.env, GNUPGHOME: key.gpgHome } },
  );
}

/** Puts `packages` (keys of set.rpms) into `repoDir/Packages/<letter>/`, then createrepo + sign. */
export async function writeRepo(set: PackageSet, repoDir: string, packages: string[]): Promise<void> {
  for (const name of packages) {
    const dir = join(repoDir, 'Packages', name[0]!);
    await mkdir(dir, { recursive: true });
    await execFile(['cp', '-p', set.rpms[name]!, join(dir, `${name}.rpm`)]);
  }
  await rm(join(repoDir, 'repodata'), { recursive: true, force: true });
  await execFile(['createrepo_c', '--quiet', repoDir]);
  await signRepomd(set.key, repoDir);
}

/** sync-to-prod's options for release 8.10 with the digest an approval named. */
export const RELEASE_8_10 = ['--major', '8', '--revision', '8.10'];
export const publishArgs = (digest: string): string[] => [...RELEASE_8_10, '--approved-digest', digest];

/** A test config and the paths of release 8.10 under `root`. */
export function testRelease(root: string, overrides: Record<string, unknown> = {}) {
  const config: ReleaseConfig = buildConfig(overrides);
  const release = resolveRelease(config, { major: '8', revision: '8.10' });
  return { config, release, paths: releasePaths(config, root, release) };
}

/**
 * What a mirror must be able to trust at any moment: every repomd.xml under `tree` names only
 * files that exist with the checksum it states, and its signature verifies with the release key.
 * Returns the problems found (empty: consistent).
 */
export async function repomdProblems(tree: string, key: SigningKey): Promise<string[]> {
  const problems: string[] = [];
  for (const repo of await findRepoDirs(tree)) {
    const repomd = join(tree, repo, 'repodata', 'repomd.xml');
    const { records } = parseRepomd(await readFile(repomd, 'utf8'));
    for (const record of records) {
      const path = join(tree, repo, record.href);
      const actual = await sha256File(
        path,
        record.checksumType === 'sha' ? 'sha1' : record.checksumType,
      ).catch(() => undefined);
      if (actual !== record.checksum)
        problems.push(`${repo}: ${record.href} ${actual ? 'checksum differs' : 'missing'}`);
    }
    try {
      await execFile(['gpg', '--batch', '--verify', `${repomd}.asc`, repomd], {
        env: { ...process.env, GNUPGHOME: key.gpgHome },
      });
    } catch {
      problems.push(`${repo}: repomd.xml.asc does not verify`);
    }
  }
  return problems;
}

/** The digest verify-staging names for the staged tree (what an approval carries). */
export const stagedDigest = async (dir: string): Promise<string> =>
  contentDigest(await computeStagedContent(dir));

/** Config overrides naming the test key as release 8's key, for in-process runs. */
export const keyOverrides = (set: PackageSet) => ({ majors: { '8': { signingKeyId: set.key.keyId } } });

/** The same as a config file under `root`, for `releng-host … --config FILE`. */
export const testConfigFile = (root: string): string => join(root, 'etc', 'releng', 'test-config.json');

/**
 * What a passing verify-staging leaves on the host, for tests of the publish itself (their
 * trees are not full releases: no comps, shrinking repos): the release key in the root's gpg
 * home and named by the config, and the host-local record of the staged tree as it is now,
 * written by the same function verify-staging uses. Returns the digest to approve.
 */
export async function approveStaged(root: string, set: PackageSet): Promise<string> {
  const { config, release, paths } = testRelease(root, keyOverrides(set));
  const gpgHome = join(root, config.signing.gpgHome);
  await mkdir(gpgHome, { recursive: true, mode: 0o700 });
  await execFile(['gpg', '--batch', '--quiet', '--import', set.publicKey], {
    env: { ...process.env, GNUPGHOME: gpgHome },
  });
  await writeFile(testConfigFile(root), JSON.stringify(keyOverrides(set)));
  const cacheFile = hashCacheFiles(paths, release).staging;
  const content = await computeStagedContent(paths.stagingRelease, { cache: await readHashCache(cacheFile) });
  await writeHashCache(cacheFile, content.cache);
  const digest = contentDigest(content);
  await recordVerified(root, {
    version: 1,
    result: 'passed',
    digest,
    major: release.major,
    channel: release.channel,
    revision: release.revision,
    stagingDir: release.stagingDirName,
    signingKeyId: set.key.keyId,
    verifiedAt: new Date().toISOString(),
    files: content.files,
    symlinks: content.symlinks,
  });
  return digest;
}
