import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApollo, startLocalApollo } from '../../cli/demo/apollo.ts';
import { parseUpdateinfo } from '../../host/repo/updateinfo.ts';

/** Two advisories, one per repo; a comment and a CDATA section that name other updates. */
const UPDATEINFO = `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <!-- <update><id>RLBA-GHOST</id><pkglist><collection short="rocky-linux-8-baseos-rpms"/></pkglist></update> -->
  <update type="bugfix">
    <id>RLBA-2026:0001</id>
    <description><![CDATA[not </update> <collection short="rocky-linux-8-appstream-rpms">]]></description>
    <pkglist><collection short='rocky-linux-8-baseos-rpms'>
      <package arch="noarch" name="a" version="1" release="1" epoch="0"><filename>a-1-1.noarch.rpm</filename></package>
    </collection></pkglist>
  </update>
  <update type="security">
    <id>RLSA-2026:0002</id>
    <pkglist><collection short="rocky-linux-8-appstream-rpms">
      <package name="b" arch="x86_64" version="1" release="1" epoch="0"><filename>b-1-1.x86_64.rpm</filename></package>
    </collection></pkglist>
  </update>
</updates>
`;

describe('the demo stand-in for Apollo', () => {
  let dir: string;
  let apollo: LocalApollo;
  const get = (repo: string) => fetch(`${apollo.baseUrl}/Rocky%20Linux%208%20x86_64/${repo}/updateinfo.xml`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-apollo-'));
    await writeFile(join(dir, 'updateinfo.xml'), UPDATEINFO);
    apollo = await startLocalApollo(join(dir, 'updateinfo.xml'));
  });

  afterAll(async () => {
    await apollo.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers each repo's advisories only, as an updateinfo document", async () => {
    const baseos = await get('BaseOS');
    expect(baseos.status).toBe(200);
    expect(parseUpdateinfo(await baseos.text()).map((a) => a.id)).toEqual(['RLBA-2026:0001']);
    const appstream = await get('AppStream');
    expect(parseUpdateinfo(await appstream.text()).map((a) => a.id)).toEqual(['RLSA-2026:0002']);
    expect((await get('PowerTools')).status).toBe(404);
  });

  it('answers 500 naming the fault when its updateinfo is not well-formed', async () => {
    await writeFile(join(dir, 'updateinfo.xml'), UPDATEINFO.replace('</updates>', ''));
    const response = await get('BaseOS');
    expect(response.status).toBe(500);
    expect(await response.text()).toMatch(/updateinfo\.xml: not well-formed XML/);
  });
});
