import { chmod, lstat, mkdir, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode } from '../../shared/errors.ts';
import { sha256File, writeFileAtomic } from '../framework/fsutil.ts';
import { contentDigest, hostStateDir, type StagedContent, type StagedFile } from '../repo/manifest.ts';
import { mapLimit } from '../repo/parallel.ts';

/**
 * What verify-staging leaves on the host when a staged tree passes: the release it verified,
 * the key its signatures verified with, and every file's SHA-256. sync-to-prod publishes only a
 * digest with such a record, and checks what it copied against it. It is host-local
 * (hostStateDir), never on the staging mount: a staging writer can neither forge a record nor
 * edit the hashes in it.
 */
export interface VerifiedRecord {
  version: 1;
  result: 'passed';
  digest: string;
  major: string;
  channel: string;
  revision: string;
  stagingDir: string;
  signingKeyId: string;
  verifiedAt: string;
  files: StagedFile[];
  symlinks: StagedContent['symlinks'];
}

const DIGEST = /^[0-9a-f]{64}$/;

/** Records kept per staging dir: staging can only match its newest few. */
const RECORDS_KEPT = 5;

export function verifiedRecordFile(root: string, stagingDir: string, digest: string): string {
  if (!DIGEST.test(digest))
    throw new Error(`not a content digest (64 lowercase hex): ${JSON.stringify(digest)}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(stagingDir))
    throw new Error(`not a staging dir name: ${JSON.stringify(stagingDir)}`);
  return join(hostStateDir(root), 'verified', stagingDir, `${digest}.json`);
}

/**
 * Written by verify-staging only, after every check passed; readable by root alone. Older
 * records of the same staging dir beyond the newest few are dropped.
 */
export async function recordVerified(root: string, record: VerifiedRecord): Promise<string> {
  const file = verifiedRecordFile(root, record.stagingDir, record.digest);
  // The same digest verified again for the same release and key: the record stands as it is.
  const known = await loadVerified(root, record.stagingDir, record.digest);
  const same = (r: VerifiedRecord) =>
    [r.major, r.channel, r.revision, r.stagingDir, r.signingKeyId].join('/');
  if ('record' in known && same(known.record) === same(record)) return file;
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, JSON.stringify(record));
  await chmod(file, 0o600);
  const others = await Promise.all(
    (await readdir(dirname(file)))
      .filter((name) => name.endsWith('.json'))
      .map(async (name) => ({ name, mtime: (await stat(join(dirname(file), name))).mtimeMs })),
  );
  others.sort((a, b) => b.mtime - a.mtime);
  for (const old of others.slice(RECORDS_KEPT)) await rm(join(dirname(file), old.name), { force: true });
  return file;
}

/**
 * The passing record of `digest`, or the reason there is none. A record whose own files do not
 * hash to its digest (damaged, or not one verify-staging wrote) counts as none.
 */
export async function loadVerified(
  root: string,
  stagingDir: string,
  digest: string,
): Promise<{ record: VerifiedRecord } | { missing: string }> {
  const file = verifiedRecordFile(root, stagingDir, digest);
  let record: VerifiedRecord;
  try {
    record = JSON.parse(await readFile(file, 'utf8')) as VerifiedRecord;
  } catch (err) {
    const code = errnoCode(err);
    return { missing: code === 'ENOENT' ? `no record ${file}` : `unreadable record ${file}` };
  }
  if (
    record.version !== 1 ||
    record.result !== 'passed' ||
    record.digest !== digest ||
    record.stagingDir !== stagingDir
  )
    return { missing: `record ${file} is not a passing verification of ${digest}` };
  if (!Array.isArray(record.files) || contentDigest(record) !== digest)
    return { missing: `record ${file} does not hash to ${digest}` };
  return { record };
}

type Approved = { sha256: string; size: number } | { target: string };

function approvedIndex(record: VerifiedRecord): Map<string, Approved> {
  const index = new Map<string, Approved>();
  for (const f of record.files) index.set(f.path, { sha256: f.sha256, size: f.size });
  for (const l of record.symlinks) index.set(l.path, { target: l.target });
  return index;
}

/** Paths (at most `limit`) whose staged content differs from the record, for a refusal message. */
export function differingPaths(record: VerifiedRecord, content: StagedContent, limit = 5): string[] {
  const index = approvedIndex(record);
  const seen = new Set<string>();
  const out: string[] = [];
  for (const f of content.files) {
    seen.add(f.path);
    const was = index.get(f.path);
    if (!was || !('sha256' in was)) out.push(`${f.path} (not in the verified tree)`);
    else if (was.sha256 !== f.sha256 || was.size !== f.size)
      out.push(`${f.path} (changed since verification)`);
  }
  for (const l of content.symlinks) {
    seen.add(l.path);
    const was = index.get(l.path);
    if (!was || !('target' in was) || was.target !== l.target) out.push(`${l.path} (link changed)`);
  }
  for (const path of index.keys()) if (!seen.has(path)) out.push(`${path} (removed since verification)`);
  return out.slice(0, limit);
}

/**
 * Checks each of `paths` (relative to `tree`, as copied there) against the record: a regular
 * file must have the approved SHA-256, a link the approved target. Reads only those files, so
 * the cost is that of the change. Returns one line per mismatch.
 */
export async function copiedMismatches(
  record: VerifiedRecord,
  tree: string,
  paths: string[],
): Promise<Array<{ path: string; why: string }>> {
  const index = approvedIndex(record);
  const found = await mapLimit(paths, 4, async (path) => {
    const approved = index.get(path);
    const full = join(tree, path);
    const info = await lstat(full).catch(() => undefined);
    if (!info) return undefined; // nothing arrived: nothing to check
    if (info.isDirectory()) return undefined;
    if (!approved) return { path, why: 'is not in the verified tree' };
    if (info.isSymbolicLink()) {
      const target = await readlink(full);
      return 'target' in approved && approved.target === target
        ? undefined
        : { path, why: `links to ${target}, not the verified target` };
    }
    if (!('sha256' in approved)) return { path, why: 'is a file where a link was verified' };
    const actual = await sha256File(full);
    return actual === approved.sha256
      ? undefined
      : { path, why: `has sha256 ${actual}, verified ${approved.sha256}` };
  });
  return found.filter((m) => m !== undefined);
}

/** Removes copies that failed the check, so no rerun's quick check can keep them. */
export async function removeMismatched(tree: string, paths: string[]): Promise<void> {
  for (const path of paths) await rm(join(tree, path), { force: true });
}
