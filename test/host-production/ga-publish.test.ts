import { existsSync, lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gaPublish, previousRelease } from '../../host/operations/ga-publish.ts';
import { syncToProd } from '../../host/operations/sync-to-prod.ts';
import {
  approveStaged,
  buildPackages,
  keyOverrides,
  noarch,
  type PackageSet,
  publishArgs,
  RELEASE_8_10,
  testRelease,
  writeRepo,
} from './fixtures.ts';
import { losePublishLockAt, runOperation } from './run.ts';

let work: string;
let root: string;
let set: PackageSet;
const paths = () => testRelease(root).paths;
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
const ga = (step: string, extra: string[] = []) =>
  runOperation(gaPublish, root, [...RELEASE_8_10, '--step', step, ...extra], keyOverrides(set));
const previousRoot = () => join(paths().productionCategory, '8.9');
const vaulted = () => join(paths().production, 'mirror/vault/rocky/8.9');

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'releng-ga-'));
  root = join(work, 'root');
  set = await buildPackages(work, [noarch('hello', '1.0'), noarch('hello', '1.1')]);
  await writeRepo(set, join(paths().stagingRelease, 'BaseOS/x86_64/os'), ['hello-1.1-1.noarch']);
  // 8.9 is the live release: production's 8 points at it.
  await writeRepo(set, join(previousRoot(), 'BaseOS/x86_64/os'), ['hello-1.0-1.noarch']);
  await symlink('8.9', join(paths().productionCategory, '8'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('ga-publish', () => {
  it('refuses to link or open a release the promotion has not published', async () => {
    await expect(ga('link')).rejects.toThrow(/holds no published repo: promote the release first/);
    await expect(ga('open')).rejects.toThrow(/holds no published repo/);
    expect(readlinkSync(join(paths().productionCategory, '8'))).toBe('8.9');
  });

  it('close: the new root is made at 750, and the publish into it keeps it closed', async () => {
    const dry = await ga('close', ['--dry-run']);
    expect(dry.ctx.plan).toEqual([`make ${paths().productionRelease} closed (mode 750)`]);
    expect(existsSync(paths().productionRelease)).toBe(false);
    expect((await ga('close')).result).toMatchObject({ changed: true, mode: '750' });
    const digest = await approveStaged(root, set);
    await runOperation(syncToProd, root, publishArgs(digest), keyOverrides(set));
    expect(existsSync(join(paths().productionRelease, 'BaseOS/x86_64/os/repodata/repomd.xml.asc'))).toBe(
      true,
    );
    expect(mode(paths().productionRelease)).toBe('750');
    expect(mode(paths().stagingRelease)).toBe('755');
  });

  it('link: 8 -> 8.10 by a new link renamed over the old; a rerun changes nothing', async () => {
    const dry = await ga('link', ['--dry-run']);
    expect(dry.ctx.plan[0]).toMatch(/^link .*\/8 -> 8\.10 \(new link renamed over 8\.9\)$/);
    expect(readlinkSync(join(paths().productionCategory, '8'))).toBe('8.9');
    const first = await ga('link');
    expect(first.result).toMatchObject({ previous: '8.9', target: '8.10', changed: true });
    expect(lstatSync(join(paths().productionCategory, '8')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(paths().productionCategory, '8'))).toBe('8.10');
    // No temp link is left beside it.
    expect(readdirSync(paths().productionCategory).filter((n) => n.startsWith('.'))).toEqual([]);
    expect((await ga('link')).result).toMatchObject({ changed: false });
  });

  it('open (the bitflip): 750 -> 755 once; close after it leaves the live release open', async () => {
    expect((await ga('open', ['--dry-run'])).ctx.plan).toEqual([
      `open ${paths().productionRelease}: mode 750 -> 755`,
    ]);
    expect(mode(paths().productionRelease)).toBe('750');
    expect((await ga('open')).result).toMatchObject({ changed: true, mode: '755' });
    expect(mode(paths().productionRelease)).toBe('755');
    expect((await ga('open')).result).toMatchObject({ changed: false });
    expect((await ga('close')).result).toMatchObject({ changed: false, mode: '755' });
    expect(mode(paths().productionRelease)).toBe('755');
  });

  it('vault that lost the publish lock during its copy names nothing in the vault', async () => {
    const run = runOperation(
      gaPublish,
      root,
      [...RELEASE_8_10, '--step', 'vault'],
      keyOverrides(set),
      losePublishLockAt(/rsync -aH/, root, work),
    );
    await expect(run).rejects.toThrow(/lock publish was lost: token \d+ is no longer current/);
    expect(existsSync(vaulted())).toBe(false);
  });

  it('vault: the previous minor is copied as hardlinks, atomically named, and a rerun adds nothing', async () => {
    expect(await previousRelease(paths().productionCategory, '8.10')).toBe('8.9');
    const dry = await ga('vault', ['--dry-run']);
    expect(dry.ctx.plan.some((l) => l.includes('rsync') && l.includes('--link-dest='))).toBe(true);
    expect(existsSync(vaulted())).toBe(false);
    const first = await ga('vault');
    expect(first.result).toMatchObject({ vaulted: '8.9', to: vaulted() });
    const rpm = 'BaseOS/x86_64/os/Packages/h/hello-1.0-1.noarch.rpm';
    expect(statSync(join(vaulted(), rpm)).ino).toBe(statSync(join(previousRoot(), rpm)).ino);
    expect(existsSync(join(vaulted(), 'BaseOS/x86_64/os/repodata/repomd.xml.asc'))).toBe(true);
    // Production's 8.9 stays; nothing partial is left in the vault.
    expect(existsSync(join(previousRoot(), rpm))).toBe(true);
    expect(readdirSync(join(vaulted(), '..'))).toEqual(['8.9']);
    const again = await ga('vault');
    expect(again.result).toMatchObject({ vaulted: '8.9' });
    expect(statSync(join(vaulted(), rpm)).ino).toBe(statSync(join(previousRoot(), rpm)).ino);
  });

  it('vault names a bad --previous, and link refuses a major that is a real directory', async () => {
    await expect(ga('vault', ['--previous', '8.3'])).rejects.toThrow(/--previous 8\.3: .* does not exist/);
    await expect(ga('vault', ['--previous', '9.1'])).rejects.toThrow(/not a release of major 8/);
    await expect(ga('vault', ['--previous', '8.x'])).rejects.toThrow(
      /--previous "8\.x" is not a valid revision/,
    );
    await expect(ga('jump' as string)).rejects.toThrow(
      /--step "jump" is not one of close, link, open, vault/,
    );
    await rm(join(paths().productionCategory, '8'));
    await mkdir(join(paths().productionCategory, '8'));
    await expect(ga('link')).rejects.toThrow(/8 is not a symlink: refusing to replace it/);
  });
});
