import { existsSync, readlinkSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADVISORY_ID, type PackageStore, tagUpdate } from '../../cli/demo/package-store.ts';
import { computeStagedContent, contentDigest } from '../../host/repo/manifest.ts';
import { findRepoDirs } from '../../host/repo/walk.ts';
import { dnfClient } from '../support/rpm.ts';
import { type HostRun, hostRunner, newStore, treeState } from './support.ts';

/**
 * The updates cycle on real tools: local compose of two composes, staging sync in the seed's
 * order, a second cycle with the update build, prep, errata, signing and verification; then
 * dnf with repo_gpgcheck reads what was staged, and every step is rerun to prove it idempotent.
 */
describe('staging pipeline on a local root', () => {
  let dir: string;
  let store: PackageStore;
  let host: ReturnType<typeof hostRunner>;
  let staging: string;
  const runs: Record<string, HostRun> = {};

  const ok = async (name: string, operation: string, ...args: string[]) => {
    const run = await host(operation, ...args);
    runs[name] = run;
    expect(run.result.error ?? '', `${operation} ${args.join(' ')}\n${run.stderr}`).toBe('');
    expect(run.code).toBe(0);
    return run;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-staging-'));
    store = await newStore(dir);
    host = hostRunner(store);
    staging = join(dir, 'mnt/repos-staging/mirror/pub/rocky/8.7-RC1');
    await ok('rocky0', 'compose', '--compose', 'Rocky', '--kind', 'updates');
    await ok('extras0', 'compose', '--compose', 'Extras', '--kind', 'updates');
    // The seed's order: dependants first, the main compose last.
    await ok('syncExtras', 'sync-to-staging', '--compose', 'Extras');
    await ok('syncRocky0', 'sync-to-staging', '--compose', 'Rocky');
    await tagUpdate(store);
    await ok('rocky1', 'compose', '--compose', 'Rocky', '--kind', 'updates');
    await ok('syncRocky1', 'sync-to-staging', '--compose', 'Rocky');
    await ok('prep', 'prep-staging');
    await ok('errata', 'apply-updateinfo', '--updateinfo', store.updateinfoPath);
    await ok('sign', 'sign-repos');
    await ok('verify', 'verify-staging');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('composes with the local engine into a pungi-shaped tree and says so', async () => {
    expect(runs.rocky0!.result.engine).toBe('local');
    expect(runs.rocky0!.stderr).toContain('local engine');
    const compose = join(dir, 'mnt/compose/8', runs.rocky0!.result.composeId as string);
    expect((await readFile(join(compose, 'STATUS'), 'utf8')).trim()).toBe('FINISHED');
    for (const path of [
      'compose/BaseOS/x86_64/os/Packages/d/demo-hello-1.0-1.el8.noarch.rpm',
      'compose/AppStream/aarch64/os/Packages/d/demo-tool-1.0-1.el8.aarch64.rpm',
      'compose/AppStream/x86_64/debug/tree/Packages/d/demo-tool-debuginfo-1.0-1.el8.x86_64.rpm',
      'compose/AppStream/source/tree/Packages/d/demo-tool-1.0-1.el8.src.rpm',
      'compose/metadata/composeinfo.json',
      'compose/metadata/rpms.json',
      'work/x86_64/comps/comps-BaseOS.x86_64.xml',
    ])
      expect(existsSync(join(compose, path)), path).toBe(true);
    const releng = JSON.parse(await readFile(join(compose, 'compose/metadata/releng.json'), 'utf8'));
    expect(releng.sources.pungi.commit).toMatch(/^[a-f0-9]{40}$/);
    expect(releng.sources.moduleMetadata.commit).toMatch(/^[a-f0-9]{40}$/);
    const rpms = JSON.parse(await readFile(join(compose, 'compose/metadata/rpms.json'), 'utf8'));
    expect(Object.keys(rpms.payload.rpms.AppStream.x86_64['demo-tool-0:1.0-1.el8.src'])).toContain(
      'demo-tool-debuginfo-0:1.0-1.el8.x86_64',
    );
  });

  it('gives the second compose of the day respin .1 and moves latest- to it', () => {
    const first = runs.rocky0!.result.composeId as string;
    const second = runs.rocky1!.result.composeId as string;
    expect(first).toMatch(/^Rocky-8-updates-[0-9]{8}\.0$/);
    expect(second).toBe(first.replace(/\.0$/, '.1'));
    expect(readlinkSync(join(dir, 'mnt/compose/8/latest-Rocky-8'))).toBe(second);
  });

  it('keeps the older package in staging and lists both after prep', async () => {
    const packages = await readdir(join(staging, 'BaseOS/x86_64/os/Packages/d'));
    expect(packages).toEqual(['demo-hello-1.0-1.el8.noarch.rpm', 'demo-hello-1.1-1.el8.noarch.rpm']);
    expect(existsSync(join(staging, 'COMPOSE_ID'))).toBe(true);
    expect((await readFile(join(staging, 'COMPOSE_ID'), 'utf8')).trim()).toBe(runs.rocky1!.result.composeId);
    expect(existsSync(join(staging, 'metadata/composeinfo.json'))).toBe(true);
  });

  it('names the digest, manifest and summary an approval needs', async () => {
    const result = runs.verify!.result;
    expect(result.digest).toMatch(/^[a-f0-9]{64}$/);
    const summary = result.summary as { composeIds: string[]; advisories: string[]; repoCount: number };
    expect(summary.advisories).toEqual([ADVISORY_ID]);
    expect(summary.composeIds).toEqual(
      [runs.extras0!.result.composeId, runs.rocky1!.result.composeId].sort(),
    );
    const manifest = JSON.parse(await readFile(result.manifest as string, 'utf8'));
    expect(manifest.digest).toBe(result.digest);
    expect(contentDigest(await computeStagedContent(staging))).toBe(result.digest);
    expect((result.manifest as string).startsWith(staging)).toBe(false);
  });

  it('serves every staging repo to dnf with repo_gpgcheck: groups, modules and the advisory', async () => {
    const repos = ['BaseOS', 'AppStream', 'PowerTools', 'extras'].map((repo) => ({
      id: `staging-${repo}`,
      path: join(staging, repo, 'x86_64/os'),
      gpgKey: store.publicKeyPath,
    }));
    const debug = {
      id: 'staging-AppStream-debug',
      path: join(staging, 'AppStream/x86_64/debug/tree'),
      gpgKey: store.publicKeyPath,
    };
    const dnf = await dnfClient(join(dir, 'client'), [...repos, debug]);
    await dnf.run(['makecache']);
    const available = (await dnf.run(['repoquery', '--qf', '%{name}-%{version}-%{release}.%{arch}'])).stdout;
    for (const nevra of [
      'demo-hello-1.1-1.el8.noarch',
      'demo-tool-1.0-1.el8.x86_64',
      'demo-modlib-1.0-1.el8.noarch',
      'demo-headers-1.0-1.el8.noarch',
      'demo-extras-1.0-1.el8.noarch',
      'demo-tool-debuginfo-1.0-1.el8.x86_64',
    ])
      expect(available).toContain(nevra);
    expect((await dnf.run(['group', 'list'])).stdout).toMatch(/Core[\s\S]*Demo Tools|Demo Tools[\s\S]*Core/);
    expect((await dnf.run(['module', 'list'])).stdout).toMatch(/demo-mod\s+1 \[d\]/);
    await dnf.run(['install', 'demo-hello-1.0-1.el8']);
    expect((await dnf.run(['updateinfo', 'list'])).stdout).toContain(
      `${ADVISORY_ID} bugfix demo-hello-1.1-1.el8.noarch`,
    );
  });

  it('has every staging repo, of every arch and kind, pass dnf makecache with repo_gpgcheck', async () => {
    const all = await findRepoDirs(staging);
    expect(all.length).toBe((runs.verify!.result.summary as { repoCount: number }).repoCount);
    const repos = all.map((rel) => ({
      id: rel.replaceAll('/', '-'),
      path: join(staging, rel),
      gpgKey: store.publicKeyPath,
    }));
    const dnf = await dnfClient(join(dir, 'client-all'), repos);
    await dnf.run(['makecache']);
    const listed = (await dnf.run(['repolist', '-v'])).stdout;
    for (const repo of repos) expect(listed).toContain(`Repo-id            : ${repo.id}`);
  });

  it('changes nothing when every operation is rerun on the finished tree', async () => {
    const before = await treeState(join(dir, 'mnt'));
    const composeId = runs.rocky1!.result.composeId as string;
    await ok('resume', 'compose', '--compose', 'Rocky', '--kind', 'updates', '--resume', composeId);
    await ok('syncExtras2', 'sync-to-staging', '--compose', 'Extras');
    await ok('syncRocky2', 'sync-to-staging', '--compose', 'Rocky');
    await ok('prep2', 'prep-staging');
    await ok('errata2', 'apply-updateinfo', '--updateinfo', store.updateinfoPath);
    await ok('sign2', 'sign-repos');
    await ok('verify2', 'verify-staging');
    expect(runs.verify2!.result.digest).toBe(runs.verify!.result.digest);
    const after = await treeState(join(dir, 'mnt'));
    const changed = [...after].filter(([path, state]) => before.get(path) !== state).map(([path]) => path);
    // Only bookkeeping may be rewritten: locks and the manifest (same digest) under .releng/,
    // and git's own FETCH_HEAD/index of the re-fetched checkouts (their content is unchanged).
    const bookkeeping = (p: string) => p.includes('/.releng/') || p.includes('/.git/');
    expect(changed.filter((p) => !bookkeeping(p))).toEqual([]);
    expect([...before.keys()].filter((p) => !after.has(p) && !bookkeeping(p))).toEqual([]);
    expect([...after.keys()].filter((p) => !before.has(p) && !bookkeeping(p))).toEqual([]);
  });
});
