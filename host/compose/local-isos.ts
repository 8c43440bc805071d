import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Release } from '../../shared/release.ts';
import type { OperationContext } from '../framework/context.ts';
import { writeFileAtomic } from '../framework/fsutil.ts';
import { checksumFile, isoFileName } from '../release/isos.ts';

/**
 * Small but real ISO 9660 images for a produce compose of the local engine, where pungi's
 * createiso (with lorax's boot images) would put them: boot and dvd under
 * `compose/BaseOS/<arch>/iso/`, minimal under `compose/Minimal/<arch>/iso/`, each with the
 * `<iso>.manifest` pungi writes and a CHECKSUM per iso dir. They are made by xorriso from the
 * compose's own repos; the boot image carries a stand-in, not a bootable kernel, and says so.
 */

/** Pungi's volume id shape: `Rocky-8-10-x86_64-dvd` (dots are not allowed; at most 32 chars). */
export function volumeId(revision: string, arch: string, variant: string): string {
  const kind = variant.replace(/[0-9]+$/, '');
  return `Rocky-${revision.replaceAll('.', '-')}-${arch}-${kind}`.slice(0, 32);
}

interface IsoPlan {
  variant: string;
  /** The compose variant whose iso/ dir holds it. */
  holder: string;
  /** `path-in-iso=path-on-disk` graft points, beside the generated top-level files. */
  grafts: string[];
}

function plans(
  composeDir: string,
  arch: string,
  variants: readonly string[],
  composeVariants: readonly string[],
): IsoPlan[] {
  const os = (variant: string) => join(composeDir, 'compose', variant, arch, 'os');
  const repo = (variant: string) => (existsSync(os(variant)) ? [`${variant}/=${os(variant)}`] : []);
  const wanted: Record<string, IsoPlan> = {
    boot: { variant: 'boot', holder: 'BaseOS', grafts: [] },
    minimal: { variant: 'minimal', holder: 'Minimal', grafts: repo('BaseOS') },
    dvd: { variant: 'dvd1', holder: 'BaseOS', grafts: [...repo('BaseOS'), ...repo('AppStream')] },
  };
  return variants.flatMap((v) => {
    const plan = wanted[v.replace(/[0-9]+$/, '')];
    // Pungi makes an image only for a variant the compose has (no Minimal variant: no minimal ISO).
    return plan && composeVariants.includes(plan.holder) ? [{ ...plan, variant: v }] : [];
  });
}

function treeinfo(release: Release, arch: string, variant: string, stamp: number): string {
  return [
    '[general]',
    `arch = ${arch}`,
    `family = Rocky Linux`,
    `version = ${release.revision}`,
    '',
    '[header]',
    'type = productmd.treeinfo',
    'version = 1.2',
    '',
    '[release]',
    'name = Rocky Linux',
    'short = Rocky',
    `version = ${release.revision}`,
    '',
    '[tree]',
    `arch = ${arch}`,
    `build_timestamp = ${stamp}`,
    `platforms = ${arch}`,
    `variants = ${variant === 'boot' ? '' : 'BaseOS'}`,
    '',
  ].join('\n');
}

/** The top-level files of one image: .treeinfo, .discinfo, media.repo, and the boot stand-in. */
async function writeTopLevel(dir: string, release: Release, arch: string, variant: string, stamp: number) {
  await writeFile(join(dir, '.treeinfo'), treeinfo(release, arch, variant, stamp));
  await writeFile(join(dir, '.discinfo'), `${stamp}\nRocky Linux ${release.revision}\n${arch}\n`);
  await writeFile(
    join(dir, 'media.repo'),
    `[InstallMedia]\nname=Rocky Linux ${release.revision}\nmediaid=${stamp}\nmetadata_expire=-1\ngpgcheck=0\ncost=500\n`,
  );
  if (variant !== 'boot') return;
  await mkdir(join(dir, 'images', 'pxeboot'), { recursive: true });
  await writeFile(
    join(dir, 'images', 'README.local-engine'),
    'Made by the releng local compose engine, not pungi/lorax: this boot image holds no kernel.\n',
  );
}

/** pungi's `<iso>.manifest`: every file path in the image, sorted, read back from the image. */
async function manifestOf(ctx: OperationContext, iso: string): Promise<string> {
  const out = await ctx.read(['xorriso', '-indev', iso, '-find', '/', '-type', 'f']);
  const paths = out.stdout
    .split('\n')
    .map((line) => line.trim().replace(/^'(.*)'$/, '$1'))
    .filter((line) => line.startsWith('/'))
    .sort();
  return `${paths.join('\n')}\n`;
}

export async function makeLocalIsos(
  ctx: OperationContext,
  input: { composeDir: string; release: Release; composeVariants: readonly string[]; stamp: number },
): Promise<string[]> {
  const { composeDir, release, stamp } = input;
  const made: string[] = [];
  for (const arch of release.settings.arches) {
    const touched = new Set<string>();
    for (const plan of plans(composeDir, arch, release.settings.isoVariants, input.composeVariants)) {
      const isoDir = join(composeDir, 'compose', plan.holder, arch, 'iso');
      const iso = join(isoDir, isoFileName(release.revision, arch, plan.variant));
      touched.add(isoDir);
      if (existsSync(iso)) continue; // a resumed compose keeps what it made
      await mkdir(isoDir, { recursive: true });
      await mkdir(join(composeDir, 'work'), { recursive: true });
      const top = await mkdtemp(join(composeDir, 'work', `.iso-${plan.variant}-`));
      try {
        await writeTopLevel(top, release, arch, plan.variant, stamp);
        const partial = `${iso}.partial`;
        await ctx.run([
          'xorriso',
          '-as',
          'mkisofs',
          '-quiet',
          '-V',
          volumeId(release.revision, arch, plan.variant),
          '-R',
          '-J',
          '-o',
          partial,
          '-graft-points',
          top,
          ...plan.grafts,
        ]);
        await writeFileAtomic(`${iso}.manifest`, await manifestOf(ctx, partial));
        await rename(partial, iso);
      } finally {
        await rm(top, { recursive: true, force: true });
      }
      made.push(iso);
    }
    for (const dir of touched) await writeFileAtomic(join(dir, 'CHECKSUM'), await checksumFile(dir));
  }
  return made;
}
