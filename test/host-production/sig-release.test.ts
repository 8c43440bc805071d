import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageStore } from '../../cli/demo/package-store.ts';
import { createSigCompose, type SigCompose } from '../../cli/demo/sig-compose.ts';
import { main } from '../../host/main.ts';
import { hostRunner, newStore } from '../host-staging/support.ts';

/**
 * A SIG release through the real host operations: sync-to-staging-sig, then sign-repos,
 * verify-staging and sync-to-prod with `--sig`, then file-lists writing fullfiletimelist-sig.
 */
let dir: string;
let store: PackageStore;
let compose: SigCompose;
let host: ReturnType<typeof hostRunner>;
const sigTree = (mount: string) => join(dir, 'mnt', mount, 'mirror/pub/sig/8/kernel');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'releng-sig-release-'));
  store = await newStore(dir);
  compose = await createSigCompose(store, 'kernel');
  host = hostRunner(store);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a SIG release', () => {
  let digest: string;

  it('is not verified before the release it builds on is staged: its repoclosure needs that BaseOS', async () => {
    const synced = await host('sync-to-staging-sig', '--major', '8', '--sig', 'kernel');
    expect(synced.code, synced.stderr).toBe(0);
    const verified = await host('verify-staging', '--sig', 'kernel');
    expect(verified.code).not.toBe(0);
    expect(verified.result.error).toMatch(
      /no BaseOS, AppStream repos of release 8\.\d+ in production or staging/,
    );
  }, 120_000);

  it('is staged, signed and verified on its own tree with its own digest', async () => {
    for (const args of [
      ['compose', '--compose', 'Rocky', '--kind', 'updates'],
      ['sync-to-staging', '--compose', 'Rocky'],
    ]) {
      const run = await host(...(args as [string, ...string[]]));
      expect(run.code, run.stderr).toBe(0);
    }
    const signed = await host('sign-repos', '--sig', 'kernel');
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.result.tree).toBe(sigTree('repos-staging'));
    expect(signed.result.signed).toEqual(['x86_64/os']);
    const verified = await host('verify-staging', '--sig', 'kernel');
    expect(verified.code, verified.stderr).toBe(0);
    digest = verified.result.digest as string;
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    // Closed against the staged release's BaseOS, where demo-hello (its requirement) lives.
    expect(verified.result.repoclosure).toMatchObject({ status: 'passed', unresolvedPackages: 0 });
    const summary = verified.result.summary as { composeIds: string[]; packageCount: number };
    expect(summary.composeIds).toEqual([compose.composeId]);
    expect(summary.packageCount).toBe(1);
    const manifest = JSON.parse(
      await readFile(join(dir, 'mnt/repos-staging/.releng/manifests/sig-8-kernel.json'), 'utf8'),
    );
    expect(manifest.digest).toBe(digest);
    expect(manifest.files.map((f: { path: string }) => f.path)).toContain(
      `x86_64/os/Packages/${compose.packages[0]}`,
    );
  }, 120_000);

  it('fails verification when a SIG package requires what neither the SIG nor BaseOS/AppStream provides', async () => {
    await createSigCompose(store, 'kmod', 0, 'x86_64', ['libmissing.so.1()(64bit)']);
    const synced = await host('sync-to-staging-sig', '--major', '8', '--sig', 'kmod');
    expect(synced.code, synced.stderr).toBe(0);
    expect((await host('sign-repos', '--sig', 'kmod')).code).toBe(0);
    const verified = await host('verify-staging', '--sig', 'kmod');
    expect(verified.code).not.toBe(0);
    expect(verified.result.error).toMatch(
      /demo-kmod-sig-1\.0-1\.el8\.noarch .*requires libmissing\.so\.1\(\)\(64bit\)/,
    );
  }, 120_000);

  it('refuses a SIG that is not configured and a channel SIG trees do not have', async () => {
    const bogus = await host('verify-staging', '--sig', 'bogus');
    expect(bogus.code).not.toBe(0);
    expect(bogus.result.error).toMatch(/SIG "bogus" is not one of kernel, kmod for major 8/);
    const beta = await host('sign-repos', '--sig', 'kernel', '--channel', 'beta');
    expect(beta.code).not.toBe(0);
    expect(beta.result.error).toMatch(/stable channel only, not beta/);
    const injected = await host('verify-staging', '--sig', '../rocky');
    expect(injected.code).toBe(2);
  });

  it('publishes only the approved digest into pub/sig/<major>/<sig>, then lists it', async () => {
    const wrong = await host('sync-to-prod', '--sig', 'kernel', '--approved-digest', 'a'.repeat(64));
    expect(wrong.code).not.toBe(0);
    expect(wrong.result.error).toMatch(/no passing verify-staging/);
    expect(existsSync(sigTree('repos-production'))).toBe(false);

    const published = await host('sync-to-prod', '--sig', 'kernel', '--approved-digest', digest);
    expect(published.code, published.stderr).toBe(0);
    const repo = join(sigTree('repos-production'), 'x86_64/os');
    expect(await readdir(join(repo, 'Packages'))).toEqual(compose.packages);
    expect(existsSync(join(repo, 'repodata/repomd.xml.asc'))).toBe(true);
    // Nothing of the SIG lands in the release category.
    expect(existsSync(join(dir, 'mnt/repos-production/mirror/pub/rocky'))).toBe(false);

    // file-lists takes no --major (hostRunner adds one), so it runs by its own argv.
    const err: string[] = [];
    const lists = await main(['file-lists', '--root', dir, '--config', store.configPath], {
      stdout: () => {},
      stderr: (l) => err.push(l),
    });
    expect(lists, err.join('\n')).toBe(0);
    const list = await readFile(
      join(dir, 'mnt/repos-production/mirror/pub/sig/fullfiletimelist-sig'),
      'utf8',
    );
    expect(list).toContain(`\t8/kernel/x86_64/os/Packages/${compose.packages[0]}\n`);
    expect(list).toContain('\t8/kernel/x86_64/os/repodata/repomd.xml.asc\n');
  }, 120_000);
});
