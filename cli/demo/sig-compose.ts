import { copyFile, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execFile } from '../../host/framework/exec.ts';
import { sigLatestLinkName } from '../../shared/release.ts';
import type { PackageStore } from './package-store.ts';
import { buildRpm, signRpms } from './rpm-tools.ts';

/** The SIG the demo composes: one of the default config's SIGs of major 8. */
export const DEMO_SIG = 'kernel';

export interface SigCompose {
  sig: string;
  composeId: string;
  /** The compose dir `latest-SIG-<sig>-<major>` now points at. */
  composeDir: string;
  /** File names of the packages in its repo. */
  packages: string[];
}

/**
 * A finished SIG compose as empanadas' sync-sig leaves it (the local stand-in, like the local
 * pungi engine): `compose/<major>/<sig>/<arch>/os` with one real package signed with the store's
 * key and createrepo_c metadata, COMPOSE_ID, STATUS FINISHED, and the `latest-SIG-<sig>-<major>`
 * link moved to it atomically.
 */
export async function createSigCompose(
  store: PackageStore,
  sig = DEMO_SIG,
  respin = 0,
  arch = 'x86_64',
  requires?: string[],
): Promise<SigCompose> {
  const composeRoot = join(store.root, 'mnt', 'compose', store.major);
  const composeId = `SIG-${sig}-${store.major}-20260101.${respin}`;
  const composeDir = join(composeRoot, composeId);
  const repo = join(composeDir, 'compose', store.major, sig, arch, 'os');
  await mkdir(join(repo, 'Packages'), { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'releng-sig-rpm-'));
  const packages: string[] = [];
  try {
    const built = await buildRpm(
      {
        name: `demo-${sig}-sig`,
        version: '1.0',
        release: `${respin + 1}.el${store.major}`,
        arch: 'noarch',
        // SIG packages build on the release: verify-staging closes them against its BaseOS.
        requires: requires ?? ['demo-hello'],
      },
      work,
    );
    const rpm = built.binaries[0]!;
    await signRpms(store.key, [rpm]);
    await copyFile(rpm, join(repo, 'Packages', basename(rpm)));
    packages.push(basename(rpm));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  await execFile(['createrepo_c', '--quiet', repo]);
  await writeFile(join(composeDir, 'COMPOSE_ID'), `${composeId}\n`);
  await writeFile(join(composeDir, 'STATUS'), 'FINISHED\n');
  const link = join(composeRoot, sigLatestLinkName(sig, store.major));
  await rm(`${link}.new`, { force: true });
  await symlink(composeId, `${link}.new`);
  await rename(`${link}.new`, link);
  return { sig, composeId, composeDir, packages };
}
