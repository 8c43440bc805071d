import { describe, expect, it } from 'vitest';
import { composeIdBase } from '../../host/compose/compose-dir.ts';
import { checkGitSource } from '../../host/compose/git-sources.ts';
import { latestBuilds } from '../../host/compose/package-store.ts';
import { withoutEmptyOpenSize } from '../../host/repo/repomd.ts';
import { batches } from '../../host/repo/sync.ts';
import { packagesFor, parseUpdateinfo } from '../../host/repo/updateinfo.ts';
import { formatComposeId } from '../../shared/compose-id.ts';
import { buildConfig } from '../../shared/config/load.ts';
import { resolveRelease } from '../../shared/release.ts';

describe('small pieces of the staging operations', () => {
  it("drops only the empty open-size elements (the seed's sed), however they are spelled", () => {
    const repomd = (group: string) =>
      `<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo">\n  <data type="group">${group}\n  </data>\n  <data type="modules">\n    <open-size/>\n  </data>\n</repomd>\n`;
    expect(
      withoutEmptyOpenSize(
        repomd('\n    <open-size></open-size>\n    <size>12</size>\n    <open-size>40</open-size>'),
      ),
    ).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo">\n  <data type="group">\n    <size>12</size>\n    <open-size>40</open-size>\n  </data>\n  <data type="modules">\n  </data>\n</repomd>\n',
    );
    const clean = repomd('\n    <size>12</size>').replace('<open-size/>', '<open-size>7</open-size>');
    expect(withoutEmptyOpenSize(clean)).toBe(clean);
  });

  it('takes the last tagged build of each name, as koji does', () => {
    const build = (name: string, version: string) => ({
      nvr: `${name}-${version}-1`,
      name,
      version,
      release: '1',
    });
    const latest = latestBuilds([
      { name: 'a', builds: [build('hello', '1.1'), build('tool', '1')] },
      { name: 'b', builds: [build('hello', '1.0')] },
    ]);
    expect(latest.map((b) => b.nvr)).toEqual(['hello-1.0-1', 'tool-1-1']);
  });

  it('names updates composes by major and produce composes by revision', () => {
    const release = resolveRelease(buildConfig(), { major: '8' });
    const now = new Date('2021-07-21T10:00:00Z');
    expect(formatComposeId({ ...composeIdBase('Rocky', 'updates', release, now), respin: 1 })).toBe(
      'Rocky-8-updates-20210721.1',
    );
    expect(formatComposeId({ ...composeIdBase('Rocky', 'produce', release, now), respin: 0 })).toBe(
      'Rocky-8.7-20210721.0',
    );
  });

  it('spreads sync units over at most the worker count', () => {
    expect(batches(['a', 'b', 'c', 'd', 'e'], 2)).toEqual([
      ['a', 'c', 'e'],
      ['b', 'd'],
    ]);
    expect(batches(['a'], 18)).toEqual([['a']]);
    expect(batches([], 4)).toEqual([]);
  });

  it('refuses git sources git would read as options', () => {
    expect(() => checkGitSource('pungi', '--upload-pack=touch /tmp/x', 'r8')).toThrow(
      /url "--upload-pack=touch \/tmp\/x" is not/,
    );
    expect(() => checkGitSource('pungi', 'https://git.rockylinux.org/rocky/pungi-rocky.git', '-r8')).toThrow(
      /ref "-r8"/,
    );
    expect(() =>
      checkGitSource('pungi', 'https://git.rockylinux.org/rocky/pungi-rocky.git', 'r8'),
    ).not.toThrow();
  });

  it('reads advisories and the packages a repo of one arch must carry', () => {
    const [advisory] =
      parseUpdateinfo(`<updates><update type="security"><id>RLSA-2026:0002</id><pkglist><collection>
      <package name="k" arch="x86_64" version="1" release="1" epoch="0"><filename>k-1-1.x86_64.rpm</filename></package>
      <package name="k" arch="aarch64" version="1" release="1" epoch="0"><filename>k-1-1.aarch64.rpm</filename></package>
      <package name="k-doc" arch="noarch" version="1" release="1" epoch="0"><filename>k-doc-1-1.noarch.rpm</filename></package>
      <package name="k" arch="src" version="1" release="1" epoch="0"><filename>k-1-1.src.rpm</filename></package>
      </collection></pkglist></update></updates>`);
    expect(advisory!.id).toBe('RLSA-2026:0002');
    expect(packagesFor(advisory!, 'x86_64').map((p) => p.filename)).toEqual([
      'k-1-1.x86_64.rpm',
      'k-doc-1-1.noarch.rpm',
    ]);
    expect(() => parseUpdateinfo('<html>nope</html>')).toThrow(/not an updateinfo document/);
  });
});
