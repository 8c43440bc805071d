import { existsSync, readlinkSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PackageStore, tagUpdate } from '../../cli/demo/package-store.ts';
import { FileLocks, lockDir } from '../../host/framework/locks.ts';
import { buildConfig } from '../../shared/config/load.ts';
import { systemClock } from '../../shared/ports.ts';
import { hostRunner, newStore, signedStaging, treeState } from './support.ts';

/** Bad options, refused preconditions and broken inputs: each fails fast, naming what is wrong. */
describe('staging operations refuse what they must', () => {
  let dir: string;
  let store: PackageStore;
  let host: ReturnType<typeof hostRunner>;
  let staging: string;

  const expectRefusal = async (pattern: RegExp, operation: string, ...args: string[]) => {
    const before = await treeState(join(dir, 'mnt'));
    const run = await host(operation, ...args);
    expect(run.code, run.stderr).not.toBe(0);
    expect(`${run.result.error ?? ''}${run.stderr}`).toMatch(pattern);
    const after = await treeState(join(dir, 'mnt'));
    expect([...after].filter(([p, s]) => before.get(p) !== s && !p.includes('/.releng/locks'))).toEqual([]);
    return run;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-refusals-'));
    store = await newStore(dir);
    host = hostRunner(store);
    staging = await signedStaging(host, dir);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an unknown compose, naming it', async () => {
    await expectRefusal(
      /compose "Bogus" is not one of Rocky, Extras/,
      'compose',
      '--compose',
      'Bogus',
      '--kind',
      'updates',
    );
    await expectRefusal(/compose "Bogus" is not one of/, 'sync-to-staging', '--compose', 'Bogus');
    await expectRefusal(
      /SIG "bogus" is not one of kernel, kmod/,
      'sync-to-staging-sig',
      '--major',
      '8',
      '--sig',
      'bogus',
    );
  });

  it('refuses hostile values before anything runs', async () => {
    const run = await expectRefusal(
      /--compose "Rocky;rm -rf \/" is not a valid identifier/,
      'sync-to-staging',
      '--compose',
      'Rocky;rm -rf /',
    );
    expect(run.code).toBe(2);
    await expectRefusal(
      /--updateinfo "\.\.\/x\.xml" is not a valid absolutePath/,
      'apply-updateinfo',
      '--updateinfo',
      '../x.xml',
    );
    await expectRefusal(
      /--kind "nightly" is not one of produce, updates/,
      'compose',
      '--compose',
      'Rocky',
      '--kind',
      'nightly',
    );
  });

  it('refuses a compose that has no produce config', async () => {
    await expectRefusal(
      /compose Extras has no produce pungi config/,
      'compose',
      '--compose',
      'Extras',
      '--kind',
      'produce',
    );
  });

  it('fails on a missing signing key instead of skipping', async () => {
    const config = join(dir, 'wrong-key.json');
    const overrides = structuredClone(store.configOverrides) as {
      majors: Record<string, Record<string, unknown>>;
    };
    overrides.majors['8']!.signingKeyId = 'DEADBEEFDEADBEEF';
    await writeFile(config, JSON.stringify(overrides));
    await expectRefusal(/signing key DEADBEEFDEADBEEF has no secret key/, 'sign-repos', '--config', config);
  });

  it('refuses to sync a compose that is not FINISHED', async () => {
    const composeId = readlinkSync(join(dir, 'mnt/compose/8/latest-Rocky-8'));
    const status = join(dir, 'mnt/compose/8', composeId, 'STATUS');
    await writeFile(status, 'STARTED\n');
    try {
      await expectRefusal(/is STARTED, not FINISHED/, 'sync-to-staging', '--compose', 'Rocky');
    } finally {
      await writeFile(status, 'FINISHED\n');
    }
    await expectRefusal(/latest-Extras-8 does not exist/, 'sync-to-staging', '--compose', 'Extras');
  });

  it('refuses a sync while another run holds the lane lock', async () => {
    const locks = new FileLocks(lockDir(buildConfig(store.configOverrides), dir), systemClock);
    await locks.acquire('lane:8/Rocky', 'another-sync', 600);
    try {
      await expectRefusal(/lane 8\/Rocky is busy .*another-sync/, 'sync-to-staging', '--compose', 'Rocky');
    } finally {
      await locks.release('lane:8/Rocky', 'another-sync');
    }
  });

  it('leaves latest- at the last good compose when a compose fails', async () => {
    const good = readlinkSync(join(dir, 'mnt/compose/8/latest-Rocky-8'));
    const tagFile = join(dir, 'mnt/koji/tags/dist-rocky8-updates-build.json');
    const original = await readFile(tagFile, 'utf8');
    const tag = JSON.parse(original);
    tag.builds.push({ nvr: 'demo-ghost-1.0-1.el8', name: 'demo-ghost', version: '1.0', release: '1.el8' });
    await writeFile(tagFile, JSON.stringify(tag));
    try {
      const run = await host('compose', '--compose', 'Rocky', '--kind', 'updates');
      expect(run.code).toBe(1);
      expect(run.result.error).toMatch(/demo-ghost-1\.0-1\.el8 is tagged but has no packages|DOOMED/);
      expect(readlinkSync(join(dir, 'mnt/compose/8/latest-Rocky-8'))).toBe(good);
    } finally {
      await writeFile(tagFile, original);
    }
  });

  it('fails an advisory whose packages are in no repo, naming them', async () => {
    const file = join(dir, 'ghost-updateinfo.xml');
    await writeFile(
      file,
      `<?xml version="1.0"?><updates><update type="security"><id>RLSA-2026:0099</id><pkglist><collection>
      <package name="demo-ghost" version="2" release="1" epoch="0" arch="noarch"><filename>demo-ghost-2-1.noarch.rpm</filename></package>
      </collection></pkglist></update></updates>`,
    );
    await expectRefusal(
      /RLSA-2026:0099 \(demo-ghost-2-1\.noarch\.rpm\)/,
      'apply-updateinfo',
      '--updateinfo',
      file,
    );
  });

  it('reports tampered metadata and a broken signature in verify', async () => {
    const repo = join(staging, 'PowerTools/x86_64/os/repodata');
    const repomd = await readFile(join(repo, 'repomd.xml'), 'utf8');
    const primary = /href="(repodata\/[^"]+-primary\.xml\.gz)"/.exec(repomd)![1]!;
    const original = await readFile(join(staging, 'PowerTools/x86_64/os', primary));
    await appendFile(join(staging, 'PowerTools/x86_64/os', primary), 'x');
    await appendFile(join(staging, 'BaseOS/x86_64/os/repodata/repomd.xml'), ' ');
    const run = await host('verify-staging');
    expect(run.code).toBe(1);
    expect(run.result.error).toContain(`PowerTools/x86_64/os: ${primary} has sha256`);
    expect(run.result.error).toContain(
      'BaseOS/x86_64/os: repodata/repomd.xml.asc is missing or does not verify',
    );
    expect(existsSync(join(dir, 'mnt/repos-staging/.releng/manifests/8.7-RC1.json'))).toBe(false);
    await writeFile(join(staging, 'PowerTools/x86_64/os', primary), original);
    await writeFile(
      join(staging, 'BaseOS/x86_64/os/repodata/repomd.xml'),
      `${(await readFile(join(staging, 'BaseOS/x86_64/os/repodata/repomd.xml'), 'utf8')).trimEnd()}\n`,
    );
  });

  it('prints a plan and changes nothing in dry-run', async () => {
    await tagUpdate(store);
    const before = await treeState(join(dir, 'mnt'));
    const composeRun = await host('compose', '--compose', 'Rocky', '--kind', 'updates', '--dry-run');
    expect(composeRun.code, composeRun.stderr).toBe(0);
    expect(composeRun.result.plan.join('\n')).toMatch(
      /compose Rocky-8-updates-[0-9]{8}\.[0-9]+ from .* with the local engine/,
    );
    const prepRun = await host('prep-staging', '--dry-run');
    expect(prepRun.code, prepRun.stderr).toBe(0);
    expect(await treeState(join(dir, 'mnt'))).toEqual(before);
  });
});

describe('apply-updateinfo from an Apollo-compatible server', () => {
  let dir: string;
  let store: PackageStore;
  let server: Server;
  let baseUrl: string;
  let failWith = 0;
  let served = '';
  const requests: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-apollo-'));
    store = await newStore(dir);
    await tagUpdate(store);
    served = await readFile(store.updateinfoPath, 'utf8');
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (failWith) return res.writeHead(failWith).end('boom');
      if (req.url === '/api/v3/updateinfo/Rocky%20Linux%208%20x86_64/BaseOS/updateinfo.xml?req_arch=x86_64')
        return res.writeHead(200, { 'content-type': 'application/xml' }).end(served);
      res.writeHead(404).end('not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v3/updateinfo`;
    const overrides = { ...store.configOverrides, errata: { apolloBaseUrl: baseUrl } };
    await writeFile(store.configPath, JSON.stringify(overrides));
    const host = hostRunner(store);
    for (const args of [
      ['compose', '--compose', 'Rocky', '--kind', 'updates'],
      ['sync-to-staging', '--compose', 'Rocky'],
      ['prep-staging'],
    ]) {
      const run = await host(args[0]!, ...args.slice(1));
      expect(run.code, run.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies what Apollo serves and skips the repos it answers 404 for', async () => {
    const run = await hostRunner(store)('apply-updateinfo');
    expect(run.code, run.stderr).toBe(0);
    expect(run.result.changed).toEqual(['BaseOS/x86_64']);
    expect(run.result.skipped).toContain('AppStream/x86_64');
    expect(requests).toContain(
      '/api/v3/updateinfo/Rocky%20Linux%208%20aarch64/BaseOS/updateinfo.xml?req_arch=aarch64',
    );
  });

  it('replaces the updateinfo a repo had when Apollo serves a new one', async () => {
    const second = served.replace(
      '</updates>',
      `${served.slice(served.indexOf('<update '), served.indexOf('</updates>')).replace('RLBA-2026:0001', 'RLBA-2026:0002')}</updates>`,
    );
    served = second;
    const run = await hostRunner(store)('apply-updateinfo');
    expect(run.code, run.stderr).toBe(0);
    expect(run.result.advisories).toEqual(['RLBA-2026:0001', 'RLBA-2026:0002']);
    const repo = join(dir, 'mnt/repos-staging/mirror/pub/rocky/8.7-RC1/BaseOS/x86_64/os/repodata');
    const repomd = await readFile(join(repo, 'repomd.xml'), 'utf8');
    expect(repomd.match(/<data type="updateinfo">/g)).toHaveLength(1);
    expect((await readdir(repo)).filter((f) => f.endsWith('-updateinfo.xml.gz'))).toHaveLength(1);
  });

  it('fails the step on any other HTTP error', async () => {
    failWith = 503;
    try {
      const run = await hostRunner(store)('apply-updateinfo');
      expect(run.code).toBe(1);
      expect(run.result.error).toMatch(/answered 503/);
    } finally {
      failWith = 0;
    }
  });
});
