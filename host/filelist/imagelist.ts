import { createHash, randomBytes } from 'node:crypto';
import { chown, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checksum } from './create-filelist.ts';

/**
 * `imagelist-<module>` as Fedora's create-filelist writes it beside the time list: the image
 * files of the tree (ISOs, cloud and container images, Vagrant boxes), one `./<path>` a line,
 * sorted byte-wise. Mirrors that do not carry images exclude these paths. Its SHA-1 goes into
 * the time list's `[Checksums SHA1]`, as create-filelist lists the lists it generates.
 *
 * Images live only under `isos/` and `images/` directories, so the list is made from the
 * directory set the file-list walk already has (full or incremental alike): only those
 * directories are read again, never the whole tree.
 */

/** Image formats by file-name ending (productmd's image formats that Rocky and Fedora ship). */
const IMAGE_SUFFIXES = [
  '.iso',
  '.qcow',
  '.qcow2',
  '.raw',
  '.raw.xz',
  '.vhd',
  '.vhd.xz',
  '.vhdx',
  '.vmdk',
  '.ova',
  '.box',
  '.tar.gz',
  '.tar.xz',
];

const IMAGE_DIRS = new Set(['isos', 'images']);

export function isImageName(name: string): boolean {
  return IMAGE_SUFFIXES.some((suffix) => name.length > suffix.length && name.endsWith(suffix));
}

/** Whether a tree-relative directory is inside an `isos` or `images` tree. */
export function inImageTree(dir: string): boolean {
  return dir.split('/').some((part) => IMAGE_DIRS.has(part));
}

/** Byte-wise order of UTF-8 paths (C locale `sort`), not UTF-16 code units. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The list's text for a tree, from the directories the walk found (tree-relative, '' the top). */
export async function imageListText(tree: string, dirs: Iterable<string>): Promise<string> {
  const paths: string[] = [];
  for (const dir of dirs) {
    if (!dir || !inImageTree(dir)) continue;
    const entries = await readdir(join(tree, dir), { withFileTypes: true }).catch(() => []);
    // Links too (Rocky-x86_64-dvd.iso): a mirror that skips images must skip their links.
    for (const entry of entries)
      if ((entry.isFile() || entry.isSymbolicLink()) && isImageName(entry.name))
        paths.push(`./${dir}/${entry.name}`);
  }
  paths.sort(byteOrder);
  return paths.map((p) => `${p}\n`).join('');
}

/**
 * Writes `<tree>/<name>` when its content changed (a temp file in `tempDir`, on the same file
 * system, renamed into place), and returns its `[Checksums SHA1]` entry.
 */
export async function writeImageList(
  tree: string,
  name: string,
  dirs: Iterable<string>,
  options: { tempDir: string; owner?: { uid: number; gid: number } },
): Promise<{ checksum: Checksum; written: boolean; images: number }> {
  const text = await imageListText(tree, dirs);
  const images = text ? text.split('\n').length - 1 : 0;
  const checksum = { path: name, sha1: createHash('sha1').update(text).digest('hex') };
  const target = join(tree, name);
  if ((await readFile(target, 'utf8').catch(() => undefined)) === text)
    return { checksum, written: false, images };
  const tmp = join(options.tempDir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, text, { flag: 'wx' });
    if (options.owner) await chown(tmp, options.owner.uid, options.owner.gid);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
  return { checksum, written: true, images };
}
