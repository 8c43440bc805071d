import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from '../../host/framework/exec.ts';
import { sha256File } from '../../host/framework/fsutil.ts';
import { minorRelease } from '../../host/operations/minor-release.ts';
import { TORRENT_ROOT, torrents } from '../../host/operations/torrents.ts';
import {
  buildPackages,
  noarch,
  type PackageSet,
  RELEASE_8_10,
  repomdProblems,
  testRelease,
  writeRepo,
} from './fixtures.ts';
import { runOperation } from './run.ts';

let work: string;
let root: string;
let set: PackageSet;
let overrides: Record<string, unknown>;
const staging = () => testRelease(root).paths.stagingRelease;
const composeDir = () => join(root, 'mnt/compose/8/Rocky-8-20260101.0');

const TREEINFO = `[header]
type = productmd.treeinfo
version = 1.2

[tree]
arch = x86_64
platforms = x86_64,xen
variants = BaseOS

[variant-BaseOS]
id = BaseOS
name = BaseOS
packages = Packages
repository = .
type = variant
uid = BaseOS
`;

/**
 * A finished produce compose as pungi leaves it. The ISOs are small stand-in files: real ones
 * need lorax on a compose host; what is tested is how they are copied, linked and summed.
 */
async function makeCompose(): Promise<void> {
  const tree = join(composeDir(), 'compose');
  await writeRepo(set, join(tree, 'BaseOS/x86_64/os'), ['hello-1.0-1.noarch']);
  await writeFile(join(tree, 'BaseOS/x86_64/os/.treeinfo'), TREEINFO);
  await writeRepo(set, join(tree, 'AppStream/x86_64/os'), ['app-1.0-1.noarch']);
  await writeRepo(set, join(tree, 'NFV/x86_64/os'), ['app-1.0-1.noarch']);
  for (const [variant, iso] of [
    ['BaseOS', 'boot'],
    ['BaseOS', 'dvd1'],
    ['Minimal', 'minimal'],
  ] as const) {
    const dir = join(tree, variant, 'x86_64', 'iso');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `Rocky-8.10-x86_64-${iso}.iso`), `${iso} image\n`.repeat(1000));
    await writeFile(join(dir, `Rocky-8.10-x86_64-${iso}.iso.manifest`), `${iso}-files\n`);
    await writeFile(join(dir, 'CHECKSUM'), `pungi's own ${variant} checksum\n`);
  }
  await mkdir(join(tree, 'metadata'), { recursive: true });
  await writeFile(join(tree, 'metadata', 'composeinfo.json'), '{}\n');
  await writeFile(join(composeDir(), 'COMPOSE_ID'), 'Rocky-8-20260101.0\n');
  await writeFile(join(composeDir(), 'STATUS'), 'FINISHED\n');
  await symlink('Rocky-8-20260101.0', join(root, 'mnt/compose/8/latest-Rocky-8'));
}

/** Every path with type, size, link target and mtime: two equal snapshots are the same tree. */
async function snapshot(dir: string): Promise<string> {
  const { stdout } = await execFile(['find', '.', '-printf', '%P %y %s %l %T@\n'], { cwd: dir });
  return stdout.split('\n').sort().join('\n');
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'releng-minor-'));
  root = join(work, 'root');
  // The signing key lives where the config's signing.gpgHome points under --root.
  set = await buildPackages(join(root, 'etc/releng'), [noarch('hello', '1.0'), noarch('app', '1.0')]);
  overrides = { majors: { '8': { arches: ['x86_64'], signingKeyId: set.key.keyId } } };
  await makeCompose();
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('minor-release', () => {
  it('stages the GA tree: ISOs, links, CHECKSUM, golden kickstart, treeinfo, signatures, latest link', async () => {
    const { result } = await runOperation(minorRelease, root, RELEASE_8_10, overrides);
    const isoDir = join(staging(), 'isos', 'x86_64');
    expect(result.isos).toEqual(['x86_64']);
    for (const [link, target] of [
      ['x86_64-boot', 'boot'],
      ['x86_64-dvd1', 'dvd1'],
      ['x86_64-dvd', 'dvd1'],
      ['x86_64-minimal', 'minimal'],
      ['8-latest-x86_64-boot', 'boot'],
      ['8-latest-x86_64-dvd1', 'dvd1'],
      ['8-latest-x86_64-minimal', 'minimal'],
    ])
      expect(readlinkSync(join(isoDir, `Rocky-${link}.iso`))).toBe(`Rocky-8.10-x86_64-${target}.iso`);
    // Copied, not moved: the compose keeps its ISOs.
    expect(existsSync(join(composeDir(), 'compose/BaseOS/x86_64/iso/Rocky-8.10-x86_64-dvd1.iso'))).toBe(true);
    const checksum = readFileSync(join(isoDir, 'CHECKSUM'), 'utf8');
    // Every image and link, sorted by name; a link with the size and sum of its image.
    const names = [
      ['Rocky-8-latest-x86_64-boot.iso', 'boot'],
      ['Rocky-8-latest-x86_64-dvd1.iso', 'dvd1'],
      ['Rocky-8-latest-x86_64-minimal.iso', 'minimal'],
      ['Rocky-8.10-x86_64-boot.iso', 'boot'],
      ['Rocky-8.10-x86_64-dvd1.iso', 'dvd1'],
      ['Rocky-8.10-x86_64-minimal.iso', 'minimal'],
      ['Rocky-x86_64-boot.iso', 'boot'],
      ['Rocky-x86_64-dvd.iso', 'dvd1'],
      ['Rocky-x86_64-dvd1.iso', 'dvd1'],
      ['Rocky-x86_64-minimal.iso', 'minimal'],
    ];
    const expected: string[] = [];
    for (const [name, iso] of names) {
      const image = join(isoDir, `Rocky-8.10-x86_64-${iso}.iso`);
      expected.push(
        `# ${name}: ${(`${iso} image\n`.length * 1000).toString()} bytes`,
        `SHA256 (${name}) = ${await sha256File(image)}`,
      );
    }
    expect(checksum).toBe(`${expected.join('\n')}\n`);
    // The real tool accepts every line (links included).
    const check = await execFile(['sha256sum', '--strict', '-c', 'CHECKSUM'], { cwd: isoDir });
    expect(check.stdout.trim().split('\n')).toHaveLength(names.length);
    // The golden kickstart is a copy of os, not os nested inside it.
    const kickstart = join(staging(), 'BaseOS/x86_64/kickstart');
    expect(existsSync(join(kickstart, 'repodata/repomd.xml'))).toBe(true);
    expect(existsSync(join(kickstart, 'Packages/h/hello-1.0-1.noarch.rpm'))).toBe(true);
    expect(existsSync(join(kickstart, 'os'))).toBe(false);
    const treeinfo = readFileSync(join(staging(), 'BaseOS/x86_64/os/.treeinfo'), 'utf8');
    expect(treeinfo).toContain('variants = BaseOS,AppStream');
    expect(treeinfo).toContain(
      '[variant-AppStream]\nid = AppStream\nname = AppStream\npackages = ../../../AppStream/x86_64/os/Packages\nrepository = ../../../AppStream/x86_64/os/\ntype = variant\nuid = AppStream',
    );
    expect(readFileSync(join(staging(), 'BaseOS/x86_64/os/.treeinfo-pristine'), 'utf8')).toBe(treeinfo);
    expect(readFileSync(join(kickstart, '.treeinfo'), 'utf8')).toContain(
      'repository = ../../../AppStream/x86_64/kickstart/',
    );
    expect(readlinkSync(join(staging(), 'live'))).toBe('Live');
    expect(existsSync(join(staging(), 'Live/x86_64'))).toBe(true);
    expect(readlinkSync(join(staging(), 'nfv'))).toBe('NFV');
    expect(readlinkSync(testRelease(root).paths.stagingLatestLink)).toBe('8.10-RC1');
    expect(await repomdProblems(staging(), set.key)).toEqual([]);
  });

  it('run again gives the same tree: no nested kickstart, CHECKSUM unchanged', async () => {
    const before = await snapshot(staging());
    const { result } = await runOperation(minorRelease, root, RELEASE_8_10, overrides);
    expect(result.kickstart).toEqual([]);
    expect(result.treeinfo).toEqual([]);
    const after = await snapshot(staging());
    expect(after.split('\n').filter((l) => !before.includes(l))).toEqual([]);
    expect(after).toBe(before);
  });
});

describe('torrents', () => {
  it('makes one torrent per ISO set with the trackers and release-notes comment, and keeps them on a rerun', async () => {
    const first = await runOperation(torrents, root, RELEASE_8_10, overrides);
    const names = ['Rocky-8.10-x86_64-boot', 'Rocky-8.10-x86_64-minimal', 'Rocky-8.10-x86_64-dvd1'];
    expect(first.result.made).toEqual(names);
    const torrentOf = (n: string) => join(root, TORRENT_ROOT, 'watch/start', n, `${n}.torrent`);
    const dvd = await readFile(torrentOf('Rocky-8.10-x86_64-dvd1'), 'latin1');
    expect(dvd).toContain('udp://tracker.opentrackr.org:1337/announce');
    expect(dvd).toContain('udp://tracker.openbittorrent.com:80/announce');
    expect(dvd).toContain('https://docs.rockylinux.org/release_notes/8_10/');
    // The set: the ISO, its manifest and CHECKSUM, nothing of the other sets.
    for (const file of ['Rocky-8.10-x86_64-dvd1.iso', 'Rocky-8.10-x86_64-dvd1.iso.manifest', 'CHECKSUM'])
      expect(dvd).toContain(`${file.length}:${file}`);
    expect(dvd).not.toContain('x86_64-boot.iso');
    const bytes = await Promise.all(names.map((n) => readFile(torrentOf(n))));

    const second = await runOperation(torrents, root, RELEASE_8_10, overrides);
    expect(second.result.made).toEqual([]);
    expect(second.result.kept).toEqual(names);
    expect(await Promise.all(names.map((n) => readFile(torrentOf(n))))).toEqual(bytes);
  });
});
