import { readFile } from 'node:fs/promises';

/** One `<data type="…">` record of repomd.xml: what clients fetch and check. */
export interface RepomdRecord {
  type: string;
  /** `repodata/<checksum>-primary.xml.gz`, relative to the repo dir. */
  href: string;
  checksumType: string;
  checksum: string;
  /** Checksum of the uncompressed content, when recorded. */
  openChecksum?: string;
  size?: number;
}

/** Reads the data records of a repomd.xml (createrepo_c's flat format, no XML library needed). */
export function parseRepomd(xml: string): { revision?: string; records: RepomdRecord[] } {
  const records: RepomdRecord[] = [];
  for (const match of xml.matchAll(/<data type="([^"]+)">([\s\S]*?)<\/data>/g)) {
    const body = match[2]!;
    const checksum = /<checksum type="([^"]+)">([a-f0-9]+)<\/checksum>/.exec(body);
    const href = /<location href="([^"]+)"/.exec(body);
    if (!checksum || !href) throw new Error(`repomd.xml record ${match[1]} has no checksum or location`);
    const size = /<size>([0-9]+)<\/size>/.exec(body);
    const open = /<open-checksum type="[^"]+">([a-f0-9]+)<\/open-checksum>/.exec(body);
    records.push({
      type: match[1]!,
      href: href[1]!,
      checksumType: checksum[1]!,
      checksum: checksum[2]!,
      openChecksum: open?.[1],
      size: size ? Number(size[1]) : undefined,
    });
  }
  const revision = /<revision>([^<]*)<\/revision>/.exec(xml)?.[1];
  return { revision, records };
}

export async function readRepomd(path: string): Promise<ReturnType<typeof parseRepomd>> {
  return parseRepomd(await readFile(path, 'utf8'));
}

/** The seed's sed: drop the empty `<open-size></open-size>` lines createrepo/modifyrepo leave. */
export function withoutEmptyOpenSize(xml: string): string {
  return xml.replaceAll(/^[ \t]*<open-size><\/open-size>[ \t]*\r?\n/gm, '');
}
