import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLocalIsos, volumeId } from '../../host/compose/local-isos.ts';
import { createContext } from '../../host/framework/context.ts';
import { execFile } from '../../host/framework/exec.ts';
import { parseOperationArgs } from '../../host/framework/options.ts';
import { buildPackages, noarch, type PackageSet, testRelease, writeRepo } from './fixtures.ts';

const VARIANTS = ['BaseOS', 'AppStream', 'Minimal'];
let work: string;
let set: PackageSet;
const composeDir = () => join(work, 'Rocky-8.10-20260101.0');
const release = () => testRelease(work, { majors: { '8': { arches: ['x86_64'] } } }).release;

function context() {
  const { config } = testRelease(work);
  return createContext({
    operation: 'compose',
    config,
    root: work,
    dryRun: false,
    options: parseOperationArgs('compose', [
      '--root',
      work,
      '--major',
      '8',
      '--compose',
      'Rocky',
      '--kind',
      'produce',
    ]),
    clock: { now: () => new Date() },
    progress: () => {},
  });
}

const iso = (holder: string, variant: string) =>
  join(composeDir(), 'compose', holder, 'x86_64', 'iso', `Rocky-8.10-x86_64-${variant}.iso`);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'releng-isos-'));
  set = await buildPackages(join(work, 'pkgs'), [noarch('hello', '1.0'), noarch('app', '1.0')]);
  await writeRepo(set, join(composeDir(), 'compose/BaseOS/x86_64/os'), ['hello-1.0-1.noarch']);
  await writeRepo(set, join(composeDir(), 'compose/AppStream/x86_64/os'), ['app-1.0-1.noarch']);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('local engine ISOs', () => {
  it('names volumes as pungi does: dashes for dots, at most 32 characters', () => {
    expect(volumeId('8.10', 'x86_64', 'dvd1')).toBe('Rocky-8-10-x86_64-dvd');
    expect(volumeId('8.10', 'aarch64', 'minimal')).toBe('Rocky-8-10-aarch64-minimal');
    expect(volumeId('10.10', 'ppc64le', 'minimal').length).toBeLessThanOrEqual(32);
  });

  it('makes real ISO 9660 images where pungi puts them, with manifests and a CHECKSUM per iso dir', async () => {
    const made = await makeLocalIsos(context(), {
      composeDir: composeDir(),
      release: release(),
      composeVariants: VARIANTS,
      stamp: 1,
    });
    expect(made).toEqual([iso('BaseOS', 'boot'), iso('Minimal', 'minimal'), iso('BaseOS', 'dvd1')]);
    // xorriso reads each back as an ISO 9660 image with the pungi-shaped volume id.
    const pvd = await execFile(['xorriso', '-indev', iso('BaseOS', 'dvd1'), '-pvd_info']);
    expect(pvd.stdout).toMatch(/Volume Id\s*:\s*Rocky-8-10-x86_64-dvd\n/);
    const dvdManifest = readFileSync(`${iso('BaseOS', 'dvd1')}.manifest`, 'utf8').split('\n');
    expect(dvdManifest).toContain('/.treeinfo');
    expect(dvdManifest).toContain('/BaseOS/repodata/repomd.xml');
    expect(dvdManifest).toContain('/AppStream/Packages/a/app-1.0-1.noarch.rpm');
    expect(dvdManifest.filter(Boolean)).toEqual([...dvdManifest.filter(Boolean)].sort());
    const minimal = readFileSync(`${iso('Minimal', 'minimal')}.manifest`, 'utf8');
    expect(minimal).toContain('/BaseOS/Packages/h/hello-1.0-1.noarch.rpm');
    expect(minimal).not.toContain('/AppStream/');
    // The boot image says it is a stand-in, not a lorax boot image.
    expect(readFileSync(`${iso('BaseOS', 'boot')}.manifest`, 'utf8')).toContain(
      '/images/README.local-engine',
    );
    for (const holder of ['BaseOS', 'Minimal']) {
      const dir = join(composeDir(), 'compose', holder, 'x86_64', 'iso');
      const check = await execFile(['sha256sum', '--strict', '-c', 'CHECKSUM'], { cwd: dir });
      expect(check.stdout).toContain(': OK');
      expect(readFileSync(join(dir, 'CHECKSUM'), 'utf8')).toMatch(
        /^# Rocky-8\.10-x86_64-\w+\.iso: [0-9]+ bytes\n/,
      );
    }
    expect(existsSync(`${iso('BaseOS', 'dvd1')}.partial`)).toBe(false);
  });

  it('keeps the images a resumed compose already made', async () => {
    const before = readFileSync(iso('BaseOS', 'dvd1'));
    expect(
      await makeLocalIsos(context(), {
        composeDir: composeDir(),
        release: release(),
        composeVariants: VARIANTS,
        stamp: 2,
      }),
    ).toEqual([]);
    expect(readFileSync(iso('BaseOS', 'dvd1'))).toEqual(before);
  });

  it('makes no minimal image for a compose without the Minimal variant, as pungi would not', async () => {
    const other = join(work, 'Rocky-8.10-20260101.1');
    await writeRepo(set, join(other, 'compose/BaseOS/x86_64/os'), ['hello-1.0-1.noarch']);
    const made = await makeLocalIsos(context(), {
      composeDir: other,
      release: release(),
      composeVariants: ['BaseOS'],
      stamp: 3,
    });
    expect(made.map((p) => p.slice(other.length))).toEqual([
      '/compose/BaseOS/x86_64/iso/Rocky-8.10-x86_64-boot.iso',
      '/compose/BaseOS/x86_64/iso/Rocky-8.10-x86_64-dvd1.iso',
    ]);
    expect(existsSync(join(other, 'compose/Minimal'))).toBe(false);
  });
});
