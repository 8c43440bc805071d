import { existsSync, readFileSync, statSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type MetadataLayout,
  metadataLayout,
  namespaceDeclarations,
  type PrimaryEntry,
  primaryEntries,
  rootTagWithCount,
} from '../../shared/xml/repodata.ts';
import type { OperationContext } from '../framework/context.ts';
import { sha256, sha256File, writeFileAtomic } from '../framework/fsutil.ts';
import { editRepomd, parseRepomd, type RecordFields, readRepomd } from './repomd.ts';

/**
 * Adding packages to a big repo without re-reading it: createrepo_c makes metadata for the
 * new packages only, and their entries are spliced into the existing primary, filelists and
 * other. The result lists what `createrepo_c --update` would (every package once, old entries
 * as they were), at the cost of re-compressing the XML instead of re-reading 20,000 headers.
 * Whenever the repo is not a plain append (a package removed or rewritten, comps changed,
 * metadata not gzip) it returns undefined and the caller runs createrepo_c --update.
 */

const MAIN_TYPES = ['primary', 'filelists', 'other'] as const;

interface Listed {
  size: number;
  mtime: number;
}

/**
 * Package locations with their recorded size and file time, from primary.xml; undefined when
 * an entry lacks one or names a file elsewhere (not a plain repo: let createrepo_c decide).
 */
function listedPackages(entries: PrimaryEntry[]): Map<string, Listed> | undefined {
  const listed = new Map<string, Listed>();
  for (const { href, base, size, mtime } of entries) {
    if (!href || base !== undefined || size === undefined || mtime === undefined || listed.has(href))
      return undefined;
    listed.set(href, { size, mtime });
  }
  return listed;
}

/** A parsed metadata document: its text and where its root tag and entries are. */
interface Parsed {
  xml: string;
  layout: MetadataLayout;
}

/** The old document with `added` entries after its last one and the root's count set. */
function splice(old: Parsed, added: Parsed, count: number): string {
  const { xml, layout } = old;
  const entries = added.xml.slice(added.layout.entriesStart, added.layout.entriesEnd);
  return [
    xml.slice(0, layout.rootTagStart),
    rootTagWithCount(layout, count),
    xml.slice(layout.rootTagEnd, layout.entriesEnd),
    `\n${entries}`,
    xml.slice(layout.entriesEnd),
  ].join('');
}

/** Whether `added` entries can go into `old` as they are: same root, same namespace bindings. */
function spliceable(old: MetadataLayout, added: MetadataLayout): boolean {
  return (
    !old.rootSelfClosing &&
    old.rootName === added.rootName &&
    namespaceDeclarations(old) === namespaceDeclarations(added)
  );
}

/** primary, filelists and other as createrepo_c wrote them for the new packages alone. */
async function readScratchMetadata(scratch: string): Promise<Parsed[]> {
  const scratchRecords = (await readRepomd(join(scratch, 'repodata', 'repomd.xml'))).records;
  return Promise.all(
    MAIN_TYPES.map(async (type) => {
      const href = scratchRecords.find((r) => r.type === type)!.href;
      const xml = gunzipSync(await readFile(join(scratch, href))).toString('utf8');
      return { xml, layout: metadataLayout(xml, `new ${type}.xml`) };
    }),
  );
}

/** Writes each spliced document under its checksum name; returns the repomd records for them. */
async function writeMerged(
  ctx: OperationContext,
  repoDir: string,
  old: Parsed[],
  added: Parsed[],
  count: number,
): Promise<Map<string, RecordFields>> {
  const now = Math.floor(ctx.clock.now().getTime() / 1000);
  const records = new Map<string, RecordFields>();
  for (const [i, type] of MAIN_TYPES.entries()) {
    const merged = splice(old[i]!, added[i]!, count);
    const gz = gzipSync(merged);
    const href = `repodata/${sha256(gz)}-${type}.xml.gz`;
    await writeFileAtomic(join(repoDir, href), gz);
    records.set(type, {
      checksum: sha256(gz),
      openChecksum: sha256(merged),
      href,
      timestamp: now,
      size: gz.length,
      openSize: Buffer.byteLength(merged),
    });
  }
  return records;
}

/**
 * Appends `files` (relative to the repo, all under Packages/) when the repo's metadata is a
 * plain prefix of them. Returns the new packages appended, or undefined to fall back.
 */
export async function appendPackages(
  ctx: OperationContext,
  repoDir: string,
  files: Map<string, Listed>,
  groupfile: string | undefined,
  createrepoFlags: string[],
): Promise<string[] | undefined> {
  const repomdPath = join(repoDir, 'repodata', 'repomd.xml');
  if (!existsSync(repomdPath)) return undefined;
  const repomdXml = await readFile(repomdPath, 'utf8');
  const records = parseRepomd(repomdXml).records;
  const main = MAIN_TYPES.map((type) => records.find((r) => r.type === type));
  if (main.some((r) => !r?.href.endsWith('.gz'))) return undefined;
  const group = records.find((r) => r.type === 'group');
  if (groupfile ? !group || group.checksum !== (await sha256File(groupfile)) : !!group) return undefined;
  const read = (i: number) => gunzipSync(readFileSync(join(repoDir, main[i]!.href))).toString('utf8');
  const primaryXml = read(0);
  const primary = primaryEntries(primaryXml, main[0]!.href);
  const listed = listedPackages(primary.entries);
  if (!listed) return undefined;
  for (const [href, was] of listed) {
    const now = files.get(href);
    if (!now || now.size !== was.size || now.mtime !== was.mtime) return undefined; // removed or rewritten
  }
  const fresh = [...files.keys()].filter((f) => !listed.has(f)).sort();
  if (fresh.length === 0) return [];
  const scratch = await mkdtemp(join(repoDir, '.releng-append-'));
  try {
    for (const rel of fresh) {
      await mkdir(dirname(join(scratch, rel)), { recursive: true });
      await link(join(repoDir, rel), join(scratch, rel));
    }
    const createrepo = ctx.run(['createrepo_c', '--quiet', '--no-database', ...createrepoFlags, scratch]);
    let old: Parsed[];
    try {
      // Read the old filelists and other while createrepo_c works on the new packages.
      old = [
        { xml: primaryXml, layout: primary.layout },
        ...[1, 2].map((i) => {
          const xml = read(i);
          return { xml, layout: metadataLayout(xml, main[i]!.href) };
        }),
      ];
    } finally {
      await createrepo.catch(() => {}); // its own failure is reported just below
    }
    await createrepo;
    const added = await readScratchMetadata(scratch);
    if (old.some((o, i) => !spliceable(o.layout, added[i]!.layout))) return undefined;
    const merged = await writeMerged(ctx, repoDir, old, added, listed.size + fresh.length);
    // SQLite copies of the old metadata would now list too few packages: drop them, as
    // createrepo_c --no-database does.
    await writeFileAtomic(
      repomdPath,
      editRepomd(repomdXml, merged, (type) => type.endsWith('_db')),
    );
    return fresh;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Every file under `<repo>/Packages` with size and mtime in whole seconds, as createrepo records. */
export function packageFiles(repoDir: string, names: string[]): Map<string, Listed> {
  const out = new Map<string, Listed>();
  // One stat per package on trees of tens of thousands: synchronous calls cost a tenth of
  // the promise round trips.
  for (const name of names) {
    if (!name.endsWith('.rpm')) continue;
    const s = statSync(join(repoDir, 'Packages', name));
    if (s.isFile() && name.endsWith('.rpm'))
      out.set(`Packages/${name}`, { size: s.size, mtime: Math.floor(s.mtimeMs / 1000) });
  }
  return out;
}
