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
    const xml = `<package type="rpm"><name>a</name><size package="10" installed="1" archive="2"/>
<location href="Packages/a/a&amp;b.rpm"/></package>
<package type="rpm"><size package="5"/><location xml:base="http://elsewhere/" href="Packages/b.rpm"/></package>`;
    expect(primaryPackages(xml)).toEqual([{ href: 'Packages/a/a&b.rpm', size: 10 }]);
  });
});
