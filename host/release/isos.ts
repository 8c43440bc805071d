import type { Dirent } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../framework/fsutil.ts';

/** `Rocky-8.10-x86_64-dvd1.iso`: the ISO file pungi names for a variant. */
export function isoFileName(revision: string, arch: string, variant: string): string {
  return `Rocky-${revision}-${arch}-${variant}.iso`;
}

/**
 * The download links of one arch: `Rocky-<arch>-<variant>.iso` for each configured ISO variant,
 * and `Rocky-<arch>-dvd.iso` for dvd1 (the seed's extra link), each to the versioned file.
 */
export function isoLinks(
  revision: string,
  arch: string,
  variants: readonly string[],
): Array<[string, string]> {
  const links: Array<[string, string]> = variants.map((v) => [
    `Rocky-${arch}-${v}.iso`,
    isoFileName(revision, arch, v),
  ]);
  if (variants.includes('dvd1') && !variants.includes('dvd'))
    links.push([`Rocky-${arch}-dvd.iso`, isoFileName(revision, arch, 'dvd1')]);
  return links;
}

/**
 * CHECKSUM of an ISO dir, regenerated (never appended to): for each ISO file, sorted, the
 * seed's `# <name>: <bytes> bytes` line and the `sha256sum --tag` line. Links are left out:
 * the seed listed them with the link's own size, which no download matches.
 */
export async function checksumFile(dir: string): Promise<string> {
  const entries: Dirent[] = await readdir(dir, { withFileTypes: true });
  const isos = entries.filter((e) => e.isFile() && e.name.endsWith('.iso')).map((e) => e.name);
  const lines: string[] = [];
  for (const name of isos.sort()) {
    const path = join(dir, name);
    const { size } = await lstat(path);
    lines.push(`# ${name}: ${size} bytes`, `SHA256 (${name}) = ${await sha256File(path)}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** The link's current target, or undefined when there is no link. */
export async function linkTarget(path: string): Promise<string | undefined> {
  return readlink(path).catch(() => undefined);
}
