import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from '../../host/framework/exec.ts';
import { appendPackages } from '../../host/repo/incremental.ts';
import { parseRepomd } from '../../host/repo/repomd.ts';
import {
  childElements,
  isElement,
  parseXml,
  serializeXml,
  type XmlElement,
  type XmlNode,
} from '../../shared/xml/document.ts';
import { operationContext } from '../host-production/run.ts';
import { buildRpm, dnfClient } from '../support/rpm.ts';
import { repoPackageFiles } from './support.ts';

/**
 * The spliced append (host/repo/incremental.ts) against a full createrepo_c run on the same
 * packages, compared through a parser: every package of primary, filelists and other, field
 * by field, and dnf reading the result. The old metadata is also rewritten in legal but
 * unusual XML (comments, reordered and single-quoted attributes) the splice must survive.
 */

const MAIN = ['primary', 'filelists', 'other'] as const;

/** An element without comments and whitespace-only text, serialized: the package's content. */
function canonical(el: XmlElement): string {
  const strip = (node: XmlElement): XmlElement => ({
    ...node,
    children: node.children
      .filter((c: XmlNode) => !('comment' in c) && !('text' in c && !c.cdata && !c.text.trim()))
      .map((c) => (isElement(c) ? strip(c) : c)),
  });
  return serializeXml(strip(el));
}

/** Per metadata type: the root's package count and each package's canonical form, sorted. */
async function metadata(repo: string) {
  const repomd = parseRepomd(await readFile(join(repo, 'repodata/repomd.xml'), 'utf8'));
  const out: Record<string, { count: string | undefined; packages: string[] }> = {};
  for (const type of MAIN) {
    const href = repomd.records.find((r) => r.type === type)!.href;
    const root = parseXml(gunzipSync(await readFile(join(repo, href))).toString('utf8'), href);
    out[type] = {
      count: root.attributes.packages,
      packages: childElements(root, 'package').map(canonical).sort(),
    };
  }
  return out;
}

/** Rewrites a repo's gzipped metadata file of `type` in place (its repomd entry is not re-read). */
async function rewrite(repo: string, type: string, edit: (xml: string) => string): Promise<void> {
  const repomd = parseRepomd(await readFile(join(repo, 'repodata/repomd.xml'), 'utf8'));
  const path = join(repo, repomd.records.find((r) => r.type === type)!.href);
  await writeFile(path, gzipSync(edit(gunzipSync(await readFile(path)).toString('utf8'))));
}

describe('appending packages, read back with a parser', () => {
  let dir: string;
  let rpms: string[];
  const ctx = () => operationContext('prep-staging', dir, ['--major', '8']);
  const files = (repo: string) => repoPackageFiles(repo);

  /** A repo of the first two packages with createrepo_c's metadata, then the other two added. */
  async function grownRepo(name: string): Promise<string> {
    const repo = join(dir, name);
    await mkdir(join(repo, 'Packages'), { recursive: true });
    for (const rpm of rpms.slice(0, 2)) await copyFile(rpm, join(repo, 'Packages', rpm.split('/').at(-1)!));
    await execFile(['createrepo_c', '--quiet', repo]);
    for (const rpm of rpms.slice(2)) await copyFile(rpm, join(repo, 'Packages', rpm.split('/').at(-1)!));
    return repo;
  }

  /** A full createrepo_c run over a copy of `repo`'s packages (same files, same mtimes). */
  async function fullRun(repo: string): Promise<string> {
    const reference = `${repo}-full`;
    await mkdir(reference);
    await cp(join(repo, 'Packages'), join(reference, 'Packages'), {
      recursive: true,
      preserveTimestamps: true,
    });
    await execFile(['createrepo_c', '--quiet', '--no-database', '--checksum=sha256', reference]);
    return reference;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'releng-append-xml-'));
    rpms = [];
    const specs = [
      { name: 'alpha', version: '1', summary: 'Alpha & <omega> "quoted"' },
      { name: 'beta', version: '1' },
      { name: 'alpha', version: '2', summary: "it's <b>bold</b> & ]]> odd" },
      {
        name: 'gamma',
        version: '1',
        files: { '/usr/share/gamma/a+b.txt': 'x\n', '/usr/share/gamma/c.txt': 'y\n' },
      },
    ];
    for (const spec of specs)
      rpms.push((await buildRpm({ release: '1', arch: 'noarch', ...spec }, join(dir, 'build'))).binaries[0]!);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('equals a full createrepo_c run package by package, and dnf reads it', async () => {
    const repo = await grownRepo('plain');
    const appended = await appendPackages(ctx(), repo, await files(repo), undefined, ['--checksum=sha256']);
    expect(appended).toHaveLength(2);
    const got = await metadata(repo);
    expect(got).toEqual(await metadata(await fullRun(repo)));
    for (const type of MAIN) expect(got[type]).toMatchObject({ count: '4' });
    expect(got.primary!.packages.join('')).toContain('Alpha &amp; &lt;omega&gt;');

    const dnf = await dnfClient(join(dir, 'dnf'), [
      { id: 'spliced', path: repo, gpgKey: join(dir, 'no-key'), repoGpgCheck: false },
    ]);
    const { stdout } = await dnf.run([
      'repoquery',
      '--qf',
      '%{name}-%{version}-%{release}',
      'alpha',
      'beta',
      'gamma',
    ]);
    expect(stdout.trim().split('\n').sort()).toEqual(['alpha-1-1', 'alpha-2-1', 'beta-1-1', 'gamma-1-1']);
    const listed = await dnf.run(['repoquery', '-l', 'gamma']);
    expect(listed.stdout).toContain('/usr/share/gamma/a+b.txt');
  });

  it('splices into old metadata written with comments, reordered and single-quoted attributes', async () => {
    const repo = await grownRepo('odd');
    for (const type of MAIN)
      await rewrite(repo, type, (xml) =>
        xml
          // Root attributes reordered and single-quoted; a comment naming tags the splice must not take for tags.
          .replace(
            /<(metadata|filelists|otherdata) (xmlns="[^"]+")([^>]*) (packages="2")>/,
            "<$1 packages='2' $2$3>",
          )
          .replace(
            /(<(?:metadata|filelists|otherdata)[^>]*>)/,
            '$1\n<!-- <package type="rpm"> </metadata> -->',
          )
          .replace(/<\/(metadata|filelists|otherdata)>\s*$/, '<!-- </$1> --></$1>\n<!-- trailing -->\n'),
      );
    const appended = await appendPackages(ctx(), repo, await files(repo), undefined, ['--checksum=sha256']);
    expect(appended).toHaveLength(2);
    expect(await metadata(repo)).toEqual(await metadata(await fullRun(repo)));
  });

  it('falls back to createrepo_c when the old metadata binds the rpm namespace to another prefix', async () => {
    const repo = await grownRepo('prefix');
    await rewrite(repo, 'primary', (xml) =>
      xml.replaceAll('xmlns:rpm=', 'xmlns:r=').replaceAll('rpm:', 'r:'),
    );
    expect(await appendPackages(ctx(), repo, await files(repo), undefined, [])).toBeUndefined();
  });

  it('names the file and line when the old primary is not well-formed', async () => {
    const repo = await grownRepo('broken');
    await rewrite(repo, 'primary', (xml) => xml.replace('</package>', '</pkg>'));
    await expect(appendPackages(ctx(), repo, await files(repo), undefined, [])).rejects.toThrow(
      /primary\.xml\.gz: not well-formed XML \(line [0-9]+: end tag <\/pkg> does not close <package>\)/,
    );
  });
});
