import { copyFile, cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from '../../host/framework/exec.ts';
import { appendPackages } from '../../host/repo/incremental.ts';
import { parseRepomd } from '../../host/repo/repomd.ts';
import { operationContext } from '../host-production/run.ts';
import { buildRpm } from '../support/rpm.ts';
import { repoPackageFiles } from './support.ts';

/** What a client reads from a repo: each package's NEVRA and pkgid, and its file lists. */
async function listing(repo: string) {
  const repomd = parseRepomd(await readFile(join(repo, 'repodata/repomd.xml'), 'utf8'));
  const read = async (type: string) =>
    gunzipSync(await readFile(join(repo, repomd.records.find((r) => r.type === type)!.href))).toString(
      'utf8',
    );
  const primary = await read('primary');
  const packages = [
    ...primary.matchAll(
      /<name>([^<]+)<\/name>[\s\S]*?<version epoch="0" ver="([^"]+)" rel="([^"]+)"\/>[\s\S]*?<checksum type="sha256" pkgid="YES">([a-f0-9]+)</g,
    ),
  ]
    .map((m) => `${m[1]}-${m[2]}-${m[3]} ${m[4]}`)
    .sort();
  const files = [...(await read('filelists')).matchAll(/<file>([^<]+)<\/file>/g)].map((m) => m[1]).sort();
  const count = (xml: string) => Number(/packages="([0-9]+)"/.exec(xml)![1]);
  return {
    packages,
    files,
    counts: [count(primary), count(await read('filelists')), count(await read('other'))],
  };
}

describe('appending packages to existing metadata', () => {
  let dir: string;
  let rpms: string[];
  const ctx = () => operationContext('prep-staging', dir, ['--major', '8']);
  const files = (repo: string) => repoPackageFiles(repo);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-append-'));
    rpms = [];
    for (const [name, version] of [
      ['alpha', '1'],
      ['beta', '1'],
      ['alpha', '2'],
      ['gamma', '1'],
    ] as const)
      rpms.push(
        (await buildRpm({ name, version, release: '1', arch: 'noarch' }, join(dir, 'build'))).binaries[0]!,
      );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists exactly what createrepo_c --update lists', async () => {
    const repo = join(dir, 'repo');
    await mkdir(join(repo, 'Packages/a'), { recursive: true });
    await copyFile(rpms[0]!, join(repo, 'Packages/a/alpha-1-1.noarch.rpm'));
    await copyFile(rpms[1]!, join(repo, 'Packages/a/beta-1-1.noarch.rpm'));
    await execFile(['createrepo_c', '--quiet', repo]); // with sqlite, as a compose's repodata
    await copyFile(rpms[2]!, join(repo, 'Packages/a/alpha-2-1.noarch.rpm'));
    await copyFile(rpms[3]!, join(repo, 'Packages/a/gamma-1-1.noarch.rpm'));
    const reference = join(dir, 'reference');
    await cp(repo, reference, { recursive: true, preserveTimestamps: true });
    await execFile(['createrepo_c', '--quiet', '--update', '--no-database', reference]);

    const appended = await appendPackages(ctx(), repo, await files(repo), undefined, ['--checksum=sha256']);
    expect(appended).toEqual(['Packages/a/alpha-2-1.noarch.rpm', 'Packages/a/gamma-1-1.noarch.rpm']);
    const got = await listing(repo);
    expect(got).toEqual(await listing(reference));
    expect(got.counts).toEqual([4, 4, 4]);
    expect(got.packages.map((p) => p.split(' ')[0])).toEqual([
      'alpha-1-1',
      'alpha-2-1',
      'beta-1-1',
      'gamma-1-1',
    ]);
    expect(got.files.length).toBeGreaterThanOrEqual(4);
    const types = parseRepomd(await readFile(join(repo, 'repodata/repomd.xml'), 'utf8')).records.map(
      (r) => r.type,
    );
    expect(types.filter((t) => t.endsWith('_db'))).toEqual([]);
  });

  it('declines when a listed package was removed, so createrepo_c --update runs instead', async () => {
    const repo = join(dir, 'shrunk');
    await mkdir(join(repo, 'Packages/a'), { recursive: true });
    await copyFile(rpms[0]!, join(repo, 'Packages/a/alpha-1-1.noarch.rpm'));
    await copyFile(rpms[1]!, join(repo, 'Packages/a/beta-1-1.noarch.rpm'));
    await execFile(['createrepo_c', '--quiet', repo]);
    await rm(join(repo, 'Packages/a/beta-1-1.noarch.rpm'));
    expect(await appendPackages(ctx(), repo, await files(repo), undefined, [])).toBeUndefined();
  });

  it('declines when the comps file changed', async () => {
    const repo = join(dir, 'comps');
    await mkdir(join(repo, 'Packages/a'), { recursive: true });
    await copyFile(rpms[0]!, join(repo, 'Packages/a/alpha-1-1.noarch.rpm'));
    const comps = join(dir, 'comps.xml');
    await execFile([
      'sh',
      '-c',
      `printf '<comps><group><id>g</id><name>G</name></group></comps>\\n' > ${comps}`,
    ]);
    await execFile(['createrepo_c', '--quiet', `--groupfile=${comps}`, repo]);
    expect(await appendPackages(ctx(), repo, await files(repo), comps, [])).toEqual([]);
    await execFile([
      'sh',
      '-c',
      `printf '<comps><group><id>h</id><name>H</name></group></comps>\\n' > ${comps}`,
    ]);
    expect(await appendPackages(ctx(), repo, await files(repo), comps, [])).toBeUndefined();
  });
});
