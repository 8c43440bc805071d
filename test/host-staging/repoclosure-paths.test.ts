import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFile } from '../../host/framework/exec.ts';
import { repoclosureArgv } from '../../host/repo/repoclosure.ts';
import { buildRpm } from '../support/rpm.ts';

/**
 * A local root may hold a space (`release work/root`, as the bad-day demo uses): dnf reads a
 * `--repofrompath` plain path with a space as nothing ("Cannot download repomd.xml"), so the
 * solver must get the repos as file:// URLs. Real rpmbuild, createrepo_c and dnf.
 */
let dir: string;
let repo: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'releng-closure-paths-'));
  // rpmbuild itself cannot build under a space: the package is built beside and copied in.
  const built = await buildRpm(
    { name: 'demo-lone', version: '1.0', release: '1.el8', arch: 'noarch' },
    join(dir, 'build'),
  );
  repo = join(dir, 'release work', 'root', 'BaseOS', 'x86_64', 'os');
  await mkdir(join(repo, 'Packages'), { recursive: true });
  await cp(built.binaries[0]!, join(repo, 'Packages', 'demo-lone-1.0-1.el8.noarch.rpm'));
  await execFile(['createrepo_c', '--quiet', repo]);
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

it('closes a repo whose path holds a space', async () => {
  const scratch = join(dir, 'scratch');
  await mkdir(join(scratch, 'root'), { recursive: true });
  await writeFile(join(scratch, 'dnf.conf'), '[main]\n');
  const argv = repoclosureArgv(
    { arch: 'x86_64', repos: ['BaseOS'], check: ['BaseOS'] },
    { BaseOS: repo },
    '8',
    scratch,
  );
  expect(argv).toContain(`--repofrompath=BaseOS,file://${dir}/release%20work/root/BaseOS/x86_64/os`);
  const result = await execFile(argv, { okCodes: [0, 1] });
  expect(result.stderr).not.toMatch(/Cannot download/);
  expect(result.code, result.stderr).toBe(0);
}, 60_000);
