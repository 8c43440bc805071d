import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { OperationContext } from '../framework/context.ts';
import { CommandError, type ExecResult } from '../framework/exec.ts';
import { writeFileAtomic } from '../framework/fsutil.ts';
import { entryType, type TreeEntry } from './tree-walk.ts';

/**
 * Every staged RPM must carry a valid signature by the major's release key. rpmkeys checks them
 * against a scratch rpm database that holds only that key (exported from the signing gpg home),
 * so neither the host's rpmdb nor any other key can vouch for a package.
 *
 * Cost stays proportional to the change: a host-local record (never on the staging mount, where
 * a staging writer could forge it) keeps, per key, the inode facts of each RPM that passed.
 * The kernel moves ctime on every write, rename or chmod and nothing in user space sets it back,
 * so a package whose device, inode, ctime, size and mtime still match is the bytes that passed.
 * Only the others are checked, many per rpmkeys call.
 */

export interface PackageSigner {
  gpgHome: string;
  keyId: string;
}

const RECORD_HEADER = 'releng-rpm-signatures 1';
const BATCH = 1000; // paths per rpmkeys call: well under ARG_MAX

/** `<root>/var/lib/releng/rpm-signatures/<stagingDir>.checked`: host-local, beside the results. */
export function signatureRecordFile(root: string, stagingDirName: string): string {
  return join(root, 'var', 'lib', 'releng', 'rpm-signatures', `${stagingDirName}.checked`);
}

const factsOf = (e: TreeEntry) => `${e.identity}\t${e.attrs}`;

/** path -> facts of RPMs that passed with `keyId`; empty when missing, unreadable or another key. */
async function readRecord(file: string, keyId: string): Promise<Map<string, string>> {
  const fields = await readFile(file, 'utf8').then(
    (t) => t.split('\0'),
    () => [],
  );
  const passed = new Map<string, string>();
  if (fields[0] !== `${RECORD_HEADER} ${keyId.toUpperCase()}`) return passed;
  for (let i = 1; i + 1 < fields.length; i += 2) passed.set(fields[i + 1]!, fields[i]!);
  return passed;
}

async function writeRecord(file: string, keyId: string, passed: Map<string, string>): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const records = [...passed].map(([path, facts]) => `${facts}\0${path}\0`);
  await writeFileAtomic(file, `${RECORD_HEADER} ${keyId.toUpperCase()}\0${records.join('')}`);
}

/** rpmkeys' verdict line for one file, as a reason it fails; undefined when it passed. */
function verdict(line: string | undefined, keyId: string, stderr: string, path: string): string | undefined {
  if (line === 'digests signatures OK') return undefined;
  if (line === 'digests OK') return 'is not signed';
  if (line?.includes('SIGNATURES NOT OK')) return `is not signed by key ${keyId} (rpmkeys: ${line})`;
  if (line) return `fails rpmkeys --checksig: ${line}`;
  const error = stderr.split('\n').find((l) => l.includes(path));
  return `fails rpmkeys --checksig: ${error?.trim() ?? 'no verdict'}`;
}

async function checkBatch(
  ctx: OperationContext,
  tree: string,
  dbPath: string,
  paths: string[],
  keyId: string,
): Promise<Map<string, string | undefined>> {
  // `./` keeps a name starting with `-` from reading as an option.
  const argv = ['rpmkeys', '--dbpath', dbPath, '--define', '__gpg /usr/bin/gpg', '--checksig'];
  let result: ExecResult;
  try {
    result = await ctx.read([...argv, ...paths.map((p) => `./${p}`)], { cwd: tree });
  } catch (err) {
    if (!(err instanceof CommandError)) throw err;
    result = err.result; // exit 1 when any package fails: the lines say which
  }
  const lines = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const at = line.lastIndexOf(': ');
    if (line.startsWith('./') && at > 0) lines.set(line.slice(2, at), line.slice(at + 2));
  }
  return new Map(paths.map((p) => [p, verdict(lines.get(p), keyId, result.stderr, p)]));
}

/**
 * Problems of the release tree's RPMs (`entries`: its walk) as sentences naming each, and how
 * many were checked now. `recordFile` is where passes are remembered (not written in dry-run).
 */
export async function packageSignatureProblems(
  ctx: OperationContext,
  tree: string,
  entries: TreeEntry[],
  signer: PackageSigner,
  recordFile: string,
): Promise<{ problems: string[]; checked: number; rpms: number }> {
  const rpms = entries.filter((e) => entryType(e) === 'f' && e.path.endsWith('.rpm'));
  const before = await readRecord(recordFile, signer.keyId);
  const passed = new Map<string, string>();
  const todo: TreeEntry[] = [];
  for (const rpm of rpms) {
    if (before.get(rpm.path) === factsOf(rpm)) passed.set(rpm.path, factsOf(rpm));
    else todo.push(rpm);
  }
  const problems: string[] = [];
  if (todo.length) {
    const env = { ...(ctx.env ?? process.env), GNUPGHOME: signer.gpgHome };
    const exported = await ctx
      .read(['gpg', '--batch', '--armor', '--export', signer.keyId], { env })
      .then((r) => r.stdout)
      .catch((err: Error) => `${err.message}`);
    if (!exported.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----'))
      return {
        problems: [
          `signing key ${signer.keyId} is not in ${signer.gpgHome}, so no package signature can be checked`,
        ],
        checked: 0,
        rpms: rpms.length,
      };
    const scratch = await mkdtemp(join(tmpdir(), 'releng-rpmdb-'));
    try {
      const db = join(scratch, 'db');
      await mkdir(db);
      await writeFile(join(scratch, 'release-key.asc'), exported);
      await ctx.read(['rpmkeys', '--dbpath', db, '--import', join(scratch, 'release-key.asc')]);
      for (let i = 0; i < todo.length; i += BATCH) {
        const batch = todo.slice(i, i + BATCH);
        const verdicts = await checkBatch(
          ctx,
          tree,
          db,
          batch.map((e) => e.path),
          signer.keyId,
        );
        for (const rpm of batch) {
          const why = verdicts.get(rpm.path);
          if (why) problems.push(`${rpm.path}: ${why}`);
          else passed.set(rpm.path, factsOf(rpm));
        }
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    if (!ctx.dryRun) await writeRecord(recordFile, signer.keyId, passed);
  }
  return { problems, checked: todo.length, rpms: rpms.length };
}
