import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyByList } from '../../host/repo/copy-by-list.ts';
import { buildConfig } from '../../shared/config/load.ts';
import { operationContext } from '../host-production/run.ts';

/**
 * The staging sync's packages pass by exact list (real rsync into a shadow dir, renamed into
 * place): a unit staging has is compared, and only what differs is copied; a new unit comes
 * whole; repodata waits for its own pass; staging-only files stay (Rocky 8 does not delete).
 */
let dir: string;
const source = () => join(dir, 'compose');
const target = () => join(dir, 'staging/8.10');
const shadow = () => join(dir, 'staging/.releng/rsync-tmp/lane/shadow');
const old = new Date('2020-01-02T03:04:05Z');

async function put(path: string, content: string, mtime = old): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  await utimes(path, mtime, mtime);
}

const pkg = (root: string, unit: string, name: string) => join(root, unit, 'os/Packages', name[0]!, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'releng-sync-list-'));
  const newer = new Date('2021-01-01T00:00:00Z');
  // The compose: BaseOS/x86_64 (staged before) and AppStream/x86_64 (new).
  await put(pkg(source(), 'BaseOS/x86_64', 'same-1.rpm'), 'same\n');
  await put(pkg(source(), 'BaseOS/x86_64', 'bumped-1.rpm'), 'bumped, new build\n', newer);
  await put(pkg(source(), 'BaseOS/x86_64', 'added-1.rpm'), 'added\n', newer);
  await put(join(source(), 'BaseOS/x86_64/os/new-dir/deep/file.txt'), 'deep\n');
  await symlink('Packages/s/same-1.rpm', join(source(), 'BaseOS/x86_64/os/same.rpm'));
  await put(join(source(), 'BaseOS/x86_64/os/repodata/repomd.xml'), '<repomd>new</repomd>\n');
  await put(pkg(source(), 'AppStream/x86_64', 'app-1.rpm'), 'app\n');
  await put(join(source(), 'AppStream/x86_64/os/repodata/repomd.xml'), '<repomd>app</repomd>\n');
  // Staging, from an earlier compose: one package as it is, one older build, one it alone has.
  await put(pkg(target(), 'BaseOS/x86_64', 'same-1.rpm'), 'same\n');
  await put(pkg(target(), 'BaseOS/x86_64', 'bumped-1.rpm'), 'bumped, old build\n');
  await put(pkg(target(), 'BaseOS/x86_64', 'staging-only-1.rpm'), 'older\n');
  // New directories of the compose with old times, so a copy that leaves them at "now" shows.
  for (const newDir of ['BaseOS/x86_64/os/Packages/a', 'AppStream/x86_64'])
    await utimes(join(source(), newDir), old, old);
  await put(join(target(), 'BaseOS/x86_64/os/repodata/repomd.xml'), '<repomd>old</repomd>\n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('copyByList', () => {
  it('copies what differs and new units whole, keeps the rest in place, leaves repodata alone', async () => {
    const config = buildConfig();
    const ctx = operationContext('sync-to-staging', dir, ['--major', '8', '--compose', 'Rocky'], { config });
    const sameBefore = statSync(pkg(target(), 'BaseOS/x86_64', 'same-1.rpm')).ino;
    const units = ['AppStream/x86_64', 'BaseOS/x86_64'];
    const listed = await copyByList(ctx, {
      source: source(),
      target: target(),
      units,
      batches: [units],
      shadow: shadow(),
      rsync: ['rsync', '-a'],
      jobs: 2,
    });
    // AppStream whole; in BaseOS the new build, the new package, the link and the new dir.
    expect(listed).toBe(5);
    expect(statSync(pkg(target(), 'BaseOS/x86_64', 'same-1.rpm')).ino).toBe(sameBefore);
    for (const [unit, name] of [
      ['BaseOS/x86_64', 'bumped-1.rpm'],
      ['BaseOS/x86_64', 'added-1.rpm'],
      ['AppStream/x86_64', 'app-1.rpm'],
    ] as const) {
      const [from, to] = [pkg(source(), unit, name), pkg(target(), unit, name)];
      expect(readFileSync(to, 'utf8')).toBe(readFileSync(from, 'utf8'));
      expect(statSync(to).mtimeMs).toBe(statSync(from).mtimeMs);
      expect(statSync(to).mode).toBe(statSync(from).mode);
    }
    expect(readFileSync(join(target(), 'BaseOS/x86_64/os/new-dir/deep/file.txt'), 'utf8')).toBe('deep\n');
    expect(readlinkSync(join(target(), 'BaseOS/x86_64/os/same.rpm'))).toBe('Packages/s/same-1.rpm');
    expect(existsSync(pkg(target(), 'BaseOS/x86_64', 'staging-only-1.rpm'))).toBe(true);
    // Repodata is the next pass's: the old one stays, the new unit has none yet.
    expect(readFileSync(join(target(), 'BaseOS/x86_64/os/repodata/repomd.xml'), 'utf8')).toBe(
      '<repomd>old</repomd>\n',
    );
    expect(existsSync(join(target(), 'AppStream/x86_64/os/repodata'))).toBe(false);
    // A directory something was renamed into has the compose's mtime back, as rsync -a leaves it.
    const packagesDir = 'BaseOS/x86_64/os/Packages/a';
    // In whole seconds, as rsync's quick check and the file lists read it (utimes from Node keeps
    // microseconds at best).
    const seconds = (path: string) => Math.floor(lstatSync(path).mtimeMs / 1000);
    expect(seconds(join(target(), packagesDir))).toBe(seconds(join(source(), packagesDir)));
    expect(seconds(join(target(), 'AppStream/x86_64'))).toBe(seconds(join(source(), 'AppStream/x86_64')));

    // A second run finds nothing to copy.
    const again = await copyByList(ctx, {
      source: source(),
      target: target(),
      units,
      batches: [units],
      shadow: shadow(),
      rsync: ['rsync', '-a'],
      jobs: 2,
    });
    expect(again).toBe(0);
  });
});
