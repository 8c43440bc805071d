import type { Dirent } from 'node:fs';
import { readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../framework/fsutil.ts';

/** `Rocky-8.10-x86_64-dvd1.iso`: the ISO file pungi names for a variant. */
export function isoFileName(revision: string, arch: string, variant: string): string {
  return `Rocky-${revision}-${arch}-${variant}.iso`;
}

/**
 * The download links of one arch: `Rocky-<arch>-<variant>.iso` for each configured ISO variant,
 * `Rocky-<arch>-dvd.iso` for dvd1 (the seed's extra link), and the `-latest` links
 * symlink-images-and-checksum.sh adds (`Rocky-8-latest-x86_64-dvd1.iso`), each to the
 * versioned file.
 */
export function isoLinks(
  revision: string,
  arch: string,
  variants: readonly string[],
): Array<[string, string]> {
  const major = revision.split('.')[0]!;
  const links: Array<[string, string]> = variants.map((v) => [
    `Rocky-${arch}-${v}.iso`,
    isoFileName(revision, arch, v),
  ]);
  if (variants.includes('dvd1') && !variants.includes('dvd'))
    links.push([`Rocky-${arch}-dvd.iso`, isoFileName(revision, arch, 'dvd1')]);
  for (const v of variants)
    links.push([`Rocky-${major}-latest-${arch}-${v}.iso`, isoFileName(revision, arch, v)]);
  return links;
}

/**
 * CHECKSUM of an ISO dir, regenerated (never appended to): for each ISO name, sorted, the
 * seed's `# <name>: <bytes> bytes` line and the `sha256sum --tag` line. Links are listed as
 * the seed lists them, but with the size and sum of the image they lead to (what a download
 * of the link gets), not the link's own size, so `sha256sum -c CHECKSUM` passes for every line.
 */
export async function checksumFile(dir: string): Promise<string> {
  const entries: Dirent[] = await readdir(dir, { withFileTypes: true });
  const isos = entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && e.name.endsWith('.iso'))
    .map((e) => e.name);
  const lines: string[] = [];
  // Links lead to images already summed: each image is read once (real ones are gigabytes).
  const sums = new Map<string, string>();
  for (const name of isos.sort()) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) continue; // a dangling link names no download
    const inode = `${info.dev}:${info.ino}`;
    const sum = sums.get(inode) ?? (await sha256File(path));
    sums.set(inode, sum);
    lines.push(`# ${name}: ${info.size} bytes`, `SHA256 (${name}) = ${sum}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** The link's current target, or undefined when there is no link. */
export async function linkTarget(path: string): Promise<string | undefined> {
  return readlink(path).catch(() => undefined);
}
