import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { isErrno } from '../../shared/errors.ts';
import { rootStartTag } from '../../shared/xml/scan.ts';
import { parseRepomd } from '../repo/repomd.ts';

export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** Whether `repomd.xml` and its signature are byte-for-byte the same in both repodata dirs. */
export async function sameRepomd(a: string, b: string): Promise<boolean> {
  for (const name of ['repomd.xml', 'repomd.xml.asc']) {
    const [x, y] = await Promise.all([readIfExists(join(a, name)), readIfExists(join(b, name))]);
    if (!x || !y || !x.equals(y)) return false;
  }
  return true;
}

/**
 * The package count a repo's primary metadata declares (`<metadata … packages="N">`, at the
 * head of the file: only the first kilobytes are read), or undefined when there is none.
 */
export async function primaryPackageCount(repoDir: string): Promise<number | undefined> {
  const repomd = await readIfExists(join(repoDir, 'repodata', 'repomd.xml'));
  const href = repomd && parseRepomd(repomd.toString('utf8')).records.find((r) => r.type === 'primary')?.href;
  if (!href) return undefined;
  const path = join(repoDir, href);
  const decompressor = DECOMPRESSORS.find(([suffix]) => href.endsWith(suffix))?.[1];
  let stream: Readable;
  let child: ReturnType<typeof spawn> | undefined;
  if (href.endsWith('.xml')) stream = createReadStream(path);
  else if (href.endsWith('.gz')) stream = createReadStream(path).pipe(createGunzip());
  else if (decompressor) {
    child = spawn(decompressor, ['-dc', path], { stdio: ['ignore', 'pipe', 'ignore'] });
    stream = child.stdout!;
  } else return undefined;
  let head = '';
  try {
    for await (const chunk of stream) {
      head += (chunk as Buffer).toString('utf8');
      const root = rootStartTag(head);
      if (root) {
        const count = root.name === 'metadata' ? root.attributes().get('packages') : undefined;
        return count !== undefined && /^[0-9]+$/.test(count) ? Number(count) : undefined;
      }
      if (head.length > 65536) break;
    }
    return undefined;
  } finally {
    stream.destroy();
    child?.kill();
  }
}

/** Compressions createrepo_c writes besides gzip, read through their own tools. */
const DECOMPRESSORS: Array<[string, string]> = [
  ['.xz', 'xz'],
  ['.bz2', 'bzip2'],
  ['.zst', 'zstd'],
];

/** Names in a directory, empty when it does not exist. */
export async function namesIn(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}
