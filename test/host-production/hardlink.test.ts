import { statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { globToSegmentRegex, hardlinkTree } from '../../host/publish/hardlink.ts';
import { runOperation } from './run.ts';

let tree: string;
const inode = (p: string) => statSync(join(tree, p)).ino;

/** os and kickstart copies with equal content and times, as a GA freeze leaves them. */
async function twin(path: string, content: string): Promise<void> {
  for (const kind of ['os', 'kickstart']) {
    const file = join(tree, 'BaseOS/x86_64', kind, path);
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, content);
    await utimes(file, 1_700_000_000, 1_700_000_000);
  }
}

beforeEach(async () => {
  tree = await mkdtemp(join(tmpdir(), 'releng-hardlink-'));
  await twin('Packages/h/hello-1.0-1.noarch.rpm', 'rpm bytes');
  await twin('repodata/abc-primary.xml.gz', 'metadata');
  await twin('.treeinfo', '[tree]\n');
  await twin('Packages/s/same-size-a.rpm', 'aaaa');
  await writeFile(join(tree, 'BaseOS/x86_64/kickstart/Packages/s/same-size-a.rpm'), 'bbbb');
  await utimes(
    join(tree, 'BaseOS/x86_64/kickstart/Packages/s/same-size-a.rpm'),
    1_700_000_000,
    1_700_000_000,
  );
});

afterEach(async () => {
  await rm(tree, { recursive: true, force: true });
});

describe('hardlink', () => {
  it('turns the configured globs into path-segment patterns', () => {
    expect(globToSegmentRegex('*.xml*')).toBe('[^/]*\\.xml[^/]*');
    expect(globToSegmentRegex('.treeinfo')).toBe('\\.treeinfo');
  });

  it.each([
    ['the whole tree', undefined],
    [
      'only what a publish copied',
      [
        'BaseOS/x86_64/os/Packages/h/hello-1.0-1.noarch.rpm',
        'BaseOS/x86_64/kickstart/Packages/h/hello-1.0-1.noarch.rpm',
      ],
    ],
  ])(
    'merges identical packages over %s, never metadata or treeinfo, never equal sizes alone',
    async (_, changed) => {
      const { ctx } = await runOperation({ name: 'sync-to-prod', trees: [], run: async () => ({}) }, tree, [
        '--major',
        '8',
        '--approved-digest',
        'a'.repeat(64),
      ]);
      await hardlinkTree(ctx, tree, changed);
      const os = (p: string) => `BaseOS/x86_64/os/${p}`;
      const ks = (p: string) => `BaseOS/x86_64/kickstart/${p}`;
      expect(inode(os('Packages/h/hello-1.0-1.noarch.rpm'))).toBe(
        inode(ks('Packages/h/hello-1.0-1.noarch.rpm')),
      );
      expect(inode(os('repodata/abc-primary.xml.gz'))).not.toBe(inode(ks('repodata/abc-primary.xml.gz')));
      expect(inode(os('.treeinfo'))).not.toBe(inode(ks('.treeinfo')));
      expect(inode(os('Packages/s/same-size-a.rpm'))).not.toBe(inode(ks('Packages/s/same-size-a.rpm')));
    },
  );
});
