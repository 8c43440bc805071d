import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageStore } from '../../cli/demo/package-store.ts';
import { buildRpm, signRpms } from '../support/rpm.ts';
import { hostRunner, newStore, signedStaging } from './support.ts';

/**
 * verify-staging runs the closure check on the staged release the pipeline made (compose, sync,
 * prep, sign with the real tools) and reports it in its result: passed on the demo's packages,
 * failed naming the package and capability when a staged package needs what nothing provides,
 * and failed when dnf is not on PATH.
 */
describe('verify-staging and repoclosure', () => {
  let dir: string;
  let store: PackageStore;
  let host: ReturnType<typeof hostRunner>;
  let staging: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-verify-closure-'));
    store = await newStore(dir);
    host = hostRunner(store);
    staging = await signedStaging(host, dir);
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes the staged demo packages and reports every set it closed', async () => {
    const run = await host('verify-staging');
    expect(run.result.error ?? '', run.stderr).toBe('');
    expect(run.result.repoclosure).toMatchObject({
      solver: 'dnf repoclosure',
      status: 'passed',
      sets: [
        'x86_64 BaseOS+AppStream',
        'x86_64 PowerTools (with BaseOS, AppStream)',
        'aarch64 BaseOS+AppStream',
        'aarch64 PowerTools (with BaseOS, AppStream)',
      ],
      unresolvedPackages: 0,
    });
    // The manifest keeps the whole report, each set with what it checked.
    const manifest = JSON.parse(
      await readFile(join(dir, 'mnt/repos-staging/.releng/manifests/8.7-RC1.json'), 'utf8'),
    );
    expect(manifest.repoclosure.status).toBe('passed');
    expect(manifest.repoclosure.sets[1]).toMatchObject({
      arch: 'x86_64',
      repos: ['BaseOS', 'AppStream', 'PowerTools'],
      checked: ['PowerTools'],
      unresolved: [],
    });
  }, 60_000);

  it('fails without dnf on PATH instead of passing unchecked', async () => {
    // Every program the other checks need, but no dnf.
    const bin = join(dir, 'bin-without-dnf');
    await mkdir(bin);
    for (const from of (process.env.PATH ?? '').split(delimiter)) {
      for (const name of await readdir(from).catch(() => [])) {
        if (name !== 'dnf' && !existsSync(join(bin, name))) await symlink(join(from, name), join(bin, name));
      }
    }
    const run = await hostRunner(store, { PATH: bin })('verify-staging');
    expect(run.code).toBe(1);
    expect(run.result.error).toContain('dnf repoclosure: dnf is not installed or not on PATH');
    expect((run.result.repoclosure as { status: string }).status).toBe('solver missing');
  }, 60_000);

  it('fails a staged package that requires what nothing provides, naming it and each capability', async () => {
    const built = await buildRpm(
      {
        name: 'demo-broken',
        version: '1.0',
        release: '1.el8',
        arch: 'x86_64',
        requires: ['libmissing.so.1()(64bit)', 'nonexistent-pkg'],
      },
      join(dir, 'rpmbuild'),
    );
    const rpm = built.binaries[0]!;
    await signRpms(store.key, [rpm]);
    const packages = join(staging, 'AppStream/x86_64/os/Packages/d');
    await copyFile(rpm, join(packages, basename(rpm)));
    for (const op of ['prep-staging', 'sign-repos']) {
      const run = await host(op);
      expect(run.code, run.stderr).toBe(0);
    }
    const run = await host('verify-staging');
    expect(run.code).toBe(1);
    expect(run.result.error).toContain(
      'repoclosure x86_64: demo-broken-1.0-1.el8.x86_64 in AppStream requires libmissing.so.1()(64bit), nonexistent-pkg, which nothing in BaseOS, AppStream provides',
    );
    expect(run.result.repoclosure).toMatchObject({ status: 'failed', unresolvedPackages: 1 });
  }, 90_000);
});
