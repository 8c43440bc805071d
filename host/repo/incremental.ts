import { existsSync, readFileSync, statSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { OperationContext } from '../framework/context.ts';
import { sha256, sha256File, writeFileAtomic } from '../framework/fsutil.ts';
import { parseRepomd } from './repomd.ts';

/**
 * Adding packages to a big repo without re-reading it: createrepo_c makes metadata for the
 * new packages only, and their entries are spliced into the existing primary, filelists and
 * other. The result lists what `createrepo_c --update` would (every package once, old entries
 * as they were), at the cost of re-compressing the XML instead of re-reading 20,000 headers.
 * Whenever the repo is not a plain append (a package removed or rewritten, comps changed,
 * metadata not gzip) it returns undefined and the caller runs createrepo_c --update.
 */

const MAIN_TYPES = ['primary', 'filelists', 'other'] as const;
const ROOT_ELEMENT = { primary: 'metadata', filelists: 'filelists', other: 'otherdata' } as const;

interface Listed {
  size: number;
  mtime: number;
}

/** Package locations with their recorded size and file time, from primary.xml. */
function listedPackages(primary: string): Map<string, Listed> {
  const listed = new Map<string, Listed>();
  for (const match of primary.matchAll(/<package type="rpm">([\s\S]*?)<\/package>/g)) {
    const body = match[1]!;
    const href = /<location href="([^"]+)"/.exec(body)?.[1];
    const mtime = /<time file="([0-9]+)"/.exec(body)?.[1];
    const size = /<size package="([0-9]+)"/.exec(body)?.[1];
    if (href && mtime && size) listed.set(href, { size: Number(size), mtime: Number(mtime) });
  }
  return listed;
}

/** The package entries of a metadata document, as text. */
function entries(xml: string): string {
  const start = xml.indexOf('<package ');
  const end = xml.lastIndexOf('</package>');
  return start < 0 || end < 0 ? '' : xml.slice(start, end + '</package>'.length);
}

function splice(xml: string, type: (typeof MAIN_TYPES)[number], added: string, count: number): string {
  const close = `</${ROOT_ELEMENT[type]}>`;
  const at = xml.lastIndexOf(close);
  if (at < 0) throw new Error(`${type}.xml has no ${close}`);
  const body = `${xml.slice(0, at).trimEnd()}\n${added}\n${xml.slice(at)}`;
  return body.replace(/(<(?:metadata|filelists|otherdata)\b[^>]*\bpackages=")[0-9]+(")/, `$1${count}$2`);
}

function replaceRecord(
  repomd: string,
  type: string,
  gz: Buffer,
  xml: string,
  href: string,
  now: number,
): string {
  const pattern = new RegExp(`(<data type="${type}">)[\\s\\S]*?(</data>)`);
  const record = [
    `\n    <checksum type="sha256">${sha256(gz)}</checksum>`,
    `\n    <open-checksum type="sha256">${sha256(xml)}</open-checksum>`,
    `\n    <location href="${href}"/>`,
    `\n    <timestamp>${now}</timestamp>`,
    `\n    <size>${gz.length}</size>`,
    `\n    <open-size>${Buffer.byteLength(xml)}</open-size>\n  `,
  ].join('');
  return repomd.replace(pattern, `$1${record}$2`);
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
  const xml = MAIN_TYPES.map((_, i) =>
    gunzipSync(readFileSync(join(repoDir, main[i]!.href))).toString('utf8'),
  );
  const listed = listedPackages(xml[0]!);
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
    await ctx.run(['createrepo_c', '--quiet', '--no-database', ...createrepoFlags, scratch]);
    const added = await Promise.all(
      MAIN_TYPES.map(async (type) => {
        const record = parseRepomd(
          await readFile(join(scratch, 'repodata', 'repomd.xml'), 'utf8'),
        ).records.find((r) => r.type === type)!;
        return entries(gunzipSync(await readFile(join(scratch, record.href))).toString('utf8'));
      }),
    );
    let repomd = repomdXml;
    const now = Math.floor(ctx.clock.now().getTime() / 1000);
    for (const [i, type] of MAIN_TYPES.entries()) {
      const merged = splice(xml[i]!, type, added[i]!, listed.size + fresh.length);
      const gz = gzipSync(merged);
      const href = `repodata/${sha256(gz)}-${type}.xml.gz`;
      await writeFileAtomic(join(repoDir, href), gz);
      repomd = replaceRecord(repomd, type, gz, merged, href, now);
    }
    // SQLite copies of the old metadata would now list too few packages: drop them, as
    // createrepo_c --no-database does.
    repomd = repomd.replace(/[ \t]*<data type="[a-z_]+_db">[\s\S]*?<\/data>\r?\n/g, '');
    await writeFileAtomic(repomdPath, repomd);
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
