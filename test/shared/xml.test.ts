import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { editRepomd, parseRepomd, withoutEmptyOpenSize } from '../../host/repo/repomd.ts';
import { parseUpdateinfo, updateinfoXml } from '../../host/repo/updateinfo.ts';
import { parseXml, serializeXml } from '../../shared/xml/document.ts';
import { rootStartTag, type StartTag, scanXml } from '../../shared/xml/scan.ts';

/** A repomd.xml as createrepo_c writes it, one record. */
const REPOMD = `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1796300312</revision>
  <data type="primary">
    <checksum type="sha256">fe10</checksum>
    <open-checksum type="sha256">5c99</open-checksum>
    <location href="repodata/fe10-primary.xml.gz"/>
    <timestamp>1796300312</timestamp>
    <size>130600</size>
    <open-size>19380171</open-size>
  </data>
</repomd>
`;

/** The same records written every legal way the regexes did not expect. */
const ODD_REPOMD = `<?xml version='1.0' encoding='UTF-8'?>
<!-- <data type="ghost"><checksum type="sha256">00</checksum><location href="x"/></data> -->
<r:repomd xmlns:r="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <r:revision><![CDATA[17963]]>00312</r:revision>
  <r:data
      type='primary'>
    <r:location xml:base="" href="repodata/fe10-primary.xml.gz"></r:location>
    <r:checksum type = "sha256" >
      fe10
    </r:checksum>
    <r:size>130600</r:size>
  </r:data>
  <r:data type="group"><r:location href="repodata/a&amp;b%20c&#x2d;comps.xml"/><r:checksum type="sha256">ab</r:checksum></r:data>
  <other:data xmlns:other="urn:not-repomd" type="ignored"/>
</r:repomd>`;

describe('XML through a parser', () => {
  it('reads repomd records however they are written', () => {
    expect(parseRepomd(REPOMD)).toEqual({
      revision: '1796300312',
      records: [
        {
          type: 'primary',
          href: 'repodata/fe10-primary.xml.gz',
          checksumType: 'sha256',
          checksum: 'fe10',
          openChecksum: '5c99',
          size: 130600,
        },
      ],
    });
    const odd = parseRepomd(ODD_REPOMD);
    expect(odd.revision).toBe('1796300312');
    expect(odd.records.map((r) => [r.type, r.href, r.checksum])).toEqual([
      ['primary', 'repodata/fe10-primary.xml.gz', 'fe10'],
      ['group', 'repodata/a&b%20c-comps.xml', 'ab'],
    ]);
  });

  it('refuses what is not a repomd, naming the fault', () => {
    expect(() => parseRepomd('<html/>')).toThrow(/root element is <html>, not <repomd>/);
    expect(() => parseRepomd(REPOMD.replace('</data>', ''))).toThrow(/repomd\.xml: not well-formed XML/);
    expect(() => parseRepomd(REPOMD.replace('<location href="repodata/fe10-primary.xml.gz"/>', ''))).toThrow(
      /record primary has no checksum or location/,
    );
    expect(() => parseRepomd(`${REPOMD}<repomd/>`)).toThrow(/not well-formed/);
    expect(() =>
      parseRepomd(REPOMD.replace('<revision>', '<x:revision>').replace('</revision>', '</x:revision>')),
    ).toThrow(/prefix x is not declared/);
  });

  it('refuses entity declarations instead of expanding them (no XML bombs)', () => {
    const lol = Array.from({ length: 10 }, () => '&a;').join('');
    const bomb = `<!DOCTYPE repomd [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "${lol}">]><repomd>&b;</repomd>`;
    expect(() => parseRepomd(bomb)).toThrow(/entity declarations/);
    expect(() => parseXml('<a x="&undefined;"/>', 'doc')).toThrow(/undefined entity &undefined;/);
  });

  it('writes back what it read: createrepo_c repomd byte for byte, escapes and CDATA kept', () => {
    expect(serializeXml(parseXml(REPOMD, 'repomd.xml'))).toBe(REPOMD);
    const text = '<a q="&lt;&amp;&quot;&#9;"><![CDATA[x < y && ]]>t &amp; &lt;<!-- c --><e></e></a>';
    const again = serializeXml(parseXml(text, 'doc'));
    expect(again).toContain('<![CDATA[x < y && ]]>');
    expect(again).toContain('t &amp; &lt;');
    expect(parseXml(again, 'doc').attributes.q).toBe('<&"\t');
  });

  it('edits repomd records and drops empty open-size, keeping prefixes and unknown records', () => {
    const edited = editRepomd(
      ODD_REPOMD,
      new Map([
        [
          'primary',
          {
            checksum: 'new',
            openChecksum: 'open',
            href: 'repodata/new-primary.xml.gz',
            timestamp: 5,
            size: 6,
            openSize: 7,
          },
        ],
      ]),
      (type) => type === 'group',
    );
    expect(parseRepomd(edited).records).toEqual([
      {
        type: 'primary',
        href: 'repodata/new-primary.xml.gz',
        checksumType: 'sha256',
        checksum: 'new',
        openChecksum: 'open',
        size: 6,
      },
    ]);
    expect(edited).toContain('<r:open-size>7</r:open-size>');
    expect(edited).toContain('<other:data xmlns:other="urn:not-repomd" type="ignored"/>');
    expect(withoutEmptyOpenSize(edited.replace('>7<', '><'))).not.toContain('open-size');
  });

  it('reads advisories past comments, CDATA and entities, and writes them back standalone', () => {
    const xml = `<?xml version="1.0"?>
<u:updates xmlns:u="urn:x-updateinfo-prefix-test">
<!-- <u:update><u:id>RLSA-GHOST</u:id></u:update> -->
<u:update from="a&amp;b@rocky.invalid" type="security">
  <u:id> RLSA-2026:0001 </u:id>
  <u:description><![CDATA[fixes </u:update> and <u:package name="x">]]></u:description>
  <u:pkglist><u:collection short="rocky-linux-8-baseos-rpms">
    <u:package arch="noarch" name="k&#45;doc" release="1" version="1" epoch="0"><u:filename>k-doc-1-1.noarch.rpm</u:filename></u:package>
  </u:collection></u:pkglist>
</u:update>
</u:updates>`;
    const [advisory, ...rest] = parseUpdateinfo(xml);
    expect(rest).toEqual([]);
    expect(advisory).toMatchObject({
      id: 'RLSA-2026:0001',
      collections: ['rocky-linux-8-baseos-rpms'],
      packages: [{ name: 'k-doc', arch: 'noarch', filename: 'k-doc-1-1.noarch.rpm' }],
    });
    const written = updateinfoXml([advisory!]);
    // The root of the filtered file binds the prefix the updates use, so it means the same.
    expect(written).toContain(
      '<u:updates xmlns:u="urn:x-updateinfo-prefix-test">\n  <u:update from="a&amp;b@rocky.invalid"',
    );
    expect(written).toContain('<![CDATA[fixes </u:update> and <u:package name="x">]]>');
    expect(parseUpdateinfo(written).map((a) => a.id)).toEqual(['RLSA-2026:0001']);
    expect(() =>
      parseUpdateinfo(
        '<updates><update><id>A</id><pkglist><collection><package name="k" arch="x86_64"/></collection></pkglist></update></updates>',
      ),
    ).toThrow(/advisory A has a package without name, arch or filename/);
  });
});

describe('the structural pass for big metadata', () => {
  const attributesOf = (xml: string) => {
    const tags: Array<[string, Record<string, string>]> = [];
    scanXml(xml, {
      open: (tag: StartTag) => {
        tags.push([tag.name, Object.fromEntries(tag.attributes())]);
        return undefined;
      },
    });
    return tags;
  };

  it('agrees with fast-xml-parser on names and attribute values', () => {
    const xml = `<?xml version="1.0"?><!-- <a x="no"> --><a b='1"2' c="&lt;&#x3E;&amp;&apos;" d="x>y">
<b e="line
break"/><![CDATA[<c f="no"/>]]><?pi <c?><c  g = "1" /></a>`;
    const parsed = new XMLParser({
      preserveOrder: true,
      ignoreAttributes: false,
      attributeNamePrefix: '',
      htmlEntities: true, // character references, as document.ts reads them
    }).parse(xml);
    const fromLibrary: Array<[string, Record<string, string>]> = [];
    const walk = (nodes: Array<Record<string, unknown>>) => {
      for (const node of nodes) {
        const name = Object.keys(node).find((k) => k !== ':@' && !k.startsWith('#') && !k.startsWith('?'));
        if (!name) continue;
        fromLibrary.push([name, (node[':@'] as Record<string, string>) ?? {}]);
        walk(node[name] as Array<Record<string, unknown>>);
      }
    };
    walk(parsed);
    const ours = attributesOf(xml);
    expect(ours.map(([n]) => n)).toEqual(['a', 'b', 'c']);
    // XML normalises a literal line break in an attribute to a space; the library keeps it.
    expect(ours).toEqual(fromLibrary.map(([n, a]) => [n, n === 'b' ? { e: 'line break' } : a]));
  });

  it('refuses what is not one well-formed element, naming the line', () => {
    expect(() => scanXml('<a>\n<b></a>')).toThrow(/line 2: end tag <\/a> does not close <b>/);
    expect(() => scanXml('<a/>\n<b/>')).toThrow(/line 2: a second root element/);
    expect(() => scanXml('<a><!-- never closed </a>')).toThrow(/unterminated comment/);
    expect(() => scanXml('text<a/>')).toThrow(/text before the root element/);
    expect(() => attributesOf('<a x="1" x="2"/>')).toThrow(/attribute x repeated/);
    expect(() => attributesOf('<a x=1/>')).toThrow(/malformed attributes/);
    expect(() => scanXml('<a>')).toThrow(/<a> is never closed/);
  });

  it('finds the root start tag in the head of a big document', () => {
    const head = '<?xml version="1.0"?>\n<!-- > -->\n<metadata xmlns="u" packages="20000"><package';
    expect(Object.fromEntries(rootStartTag(head)!.attributes())).toEqual({ xmlns: 'u', packages: '20000' });
    expect(rootStartTag('<?xml version="1.0"?>\n<metadata xmlns="u" pack')).toBeUndefined();
  });
});
