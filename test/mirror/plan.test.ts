import { describe, expect, it } from 'vitest';
import {
  namedInRepodata,
  parseRsyncSource,
  planRetention,
  primaryPackages,
} from '../../shared/mirror/plan.ts';

describe('mirror-pull plan', () => {
  it('parses rsync://HOST[:PORT]/MODULE/PATH and names a bad value', () => {
    expect(parseRsyncSource('rsync://msync.rockylinux.org:873/rocky/mirror/pub/rocky/')).toMatchObject({
      host: 'msync.rockylinux.org',
      port: 873,
      module: 'rocky',
      path: 'mirror/pub/rocky',
      url: 'rsync://msync.rockylinux.org:873/rocky/mirror/pub/rocky/',
    });
    expect(parseRsyncSource('rsync://127.0.0.1/pub').url).toBe('rsync://127.0.0.1/pub/');
    expect(() => parseRsyncSource('/srv/pub')).toThrow('--from "/srv/pub": expected rsync://');
    expect(() => parseRsyncSource('rsync://h:70000/m')).toThrow('port 70000 is out of range');
    expect(() => parseRsyncSource('rsync://h/m/../etc')).toThrow('may not contain ..');
  });

  it('keeps superseded metadata files for the grace period, from when first seen superseded', () => {
    const hour = 3_600_000;
    const named = namedInRepodata(['repodata/new-primary.xml.gz']);
    const present = [
      'repomd.xml',
      'repomd.xml.asc',
      'new-primary.xml.gz',
      'old-primary.xml.gz',
      'older.xml.gz',
    ];
    const retained = { 'BaseOS/x86_64/os/repodata/older.xml.gz': 0, 'AppStream/x86_64/os/repodata/x.gz': 5 };
    const plan = planRetention({
      retained,
      repo: 'BaseOS/x86_64/os',
      present,
      named,
      now: 49 * hour,
      keepMs: 48 * hour,
    });
    expect(plan.remove).toEqual(['older.xml.gz']);
    expect(plan.retained).toEqual({
      'AppStream/x86_64/os/repodata/x.gz': 5,
      'BaseOS/x86_64/os/repodata/old-primary.xml.gz': 49 * hour,
    });
  });

  it('reads the packages of a primary.xml, skipping those served from another base', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm"><name>a</name><size package="10" installed="1" archive="2"/>
<location href="Packages/a/a&amp;b.rpm"/></package>
<package type="rpm"><size package="5"/><location xml:base="http://elsewhere/" href="Packages/b.rpm"/></package>
</metadata>`;
    expect(primaryPackages(xml)).toEqual([{ href: 'Packages/a/a&b.rpm', size: 10 }]);
  });

  it('reads what the regexes misread: comments, CDATA, attribute order, quotes, prefixes', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<!-- <package type="rpm"><size package="1"/><location href="Packages/ghost.rpm"/></package> -->
<c:metadata xmlns:c="http://linux.duke.edu/metadata/common" packages="3">
<c:package type='rpm'>
  <c:description><![CDATA[ends early? </c:package> <c:location href="Packages/cdata.rpm"/> ]]></c:description>
  <c:location href='Packages/&#x61;&#98;.rpm' xml:base = "file:///elsewhere/"/>
  <c:size archive="2" package="7"/>
</c:package>
<c:package type="rpm">
  <c:size
     package="12"/>
  <c:location
     href="Packages/q&quot;&gt;.rpm"/>
</c:package>
<c:package type="rpm"><c:location href="Packages/self.rpm"></c:location><c:size package="3"></c:size></c:package>
</c:metadata>
`;
    expect(primaryPackages(xml)).toEqual([
      { href: 'Packages/q">.rpm', size: 12 },
      { href: 'Packages/self.rpm', size: 3 },
    ]);
  });

  it('refuses a primary.xml that is not well-formed, naming the line', () => {
    const head = '<metadata xmlns="http://linux.duke.edu/metadata/common">\n';
    expect(() => primaryPackages(`${head}<package><location href="a"/></metadata>`)).toThrow(
      /line 2: end tag <\/metadata> does not close <package>/,
    );
    expect(() =>
      primaryPackages(
        `<!DOCTYPE m [<!ENTITY x "y">]>${head}<package><location href="&x;"/></package></metadata>`,
      ),
    ).toThrow(/entity declarations/);
    expect(() =>
      primaryPackages(`${head}<package><location href="&x;"/><size package="1"/></package></metadata>`),
    ).toThrow(/undefined entity &x;/);
    expect(() => primaryPackages('<metadata packages="0"></metadata>')).toThrow(/does not declare/);
  });
});
