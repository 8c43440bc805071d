import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execFile } from '../../host/framework/exec.ts';
import { sha256File } from '../../host/framework/fsutil.ts';
import { parseRepomd, type RepomdRecord } from '../../host/repo/repomd.ts';
import { errorMessage } from '../../shared/errors.ts';
import { type PrimaryPackage, primaryPackages } from '../../shared/mirror/plan.ts';

/**
 * The checks mirror-pull makes before new metadata is served: the repomd.xml signature by the
 * release key, every file it names with its checksum, and every package its primary names
 * present on the mirror with its size. Costs follow the metadata, never the package bytes.
 */

/** A gpg home holding only the release key the mirror trusts, and that key's fingerprints. */
export interface TrustedKey {
  gpgHome: string;
  fingerprints: string[];
}

const gpgEnv = (gpgHome: string) => ({ ...process.env, GNUPGHOME: gpgHome });

/**
 * Builds the trust home from `--key FILE`, or from the key an earlier pull stored: a mirror
 * keeps trusting the key it was first given. No key at all is an error, never a skip.
 */
export async function trustedKey(stateDir: string, keyFile: string | undefined): Promise<TrustedKey> {
  const stored = join(stateDir, 'trusted-key.asc');
  if (keyFile) {
    const text = await readFile(keyFile, 'utf8').catch((err) => {
      throw new Error(`--key ${keyFile}: ${errorMessage(err)}`);
    });
    if (!text.includes('BEGIN PGP PUBLIC KEY BLOCK'))
      throw new Error(`--key ${keyFile}: not an ASCII-armoured public key`);
    await writeFile(`${stored}.tmp`, text);
    await execFile(['mv', '-f', `${stored}.tmp`, stored]);
  } else if (!existsSync(stored)) {
    throw new Error('no release key: give --key FILE (the key repomd.xml.asc is signed with)');
  }
  const gpgHome = join(stateDir, 'gnupg');
  await rm(gpgHome, { recursive: true, force: true });
  await mkdir(gpgHome, { recursive: true, mode: 0o700 });
  await execFile(['gpg', '--batch', '--quiet', '--import', stored], { env: gpgEnv(gpgHome) });
  const { stdout } = await execFile(['gpg', '--batch', '--with-colons', '--fingerprint'], {
    env: gpgEnv(gpgHome),
  });
  const fingerprints = [...stdout.matchAll(/^fpr:+([A-F0-9]{40,64}):/gm)].map((m) => m[1]!);
  if (!fingerprints.length) throw new Error(`${keyFile ?? stored}: holds no usable public key`);
  return { gpgHome, fingerprints };
}

/** True when `<repomd>.asc` is a good signature over it by the trusted key. */
export async function signedByTrustedKey(key: TrustedKey, repomd: string): Promise<boolean> {
  if (!existsSync(`${repomd}.asc`)) return false;
  try {
    const { stdout } = await execFile(
      ['gpg', '--batch', '--status-fd', '1', '--verify', `${repomd}.asc`, repomd],
      {
        env: gpgEnv(key.gpgHome),
      },
    );
    const valid = /^\[GNUPG:\] VALIDSIG ([A-F0-9]+) .* ([A-F0-9]+)$/m.exec(stdout);
    return !!valid && (key.fingerprints.includes(valid[1]!) || key.fingerprints.includes(valid[2]!));
  } catch {
    return false;
  }
}

async function checksumOf(path: string, type: string): Promise<string | undefined> {
  return sha256File(path, type === 'sha' ? 'sha1' : type).catch(() => undefined);
}

/** The uncompressed text of a metadata file, by its compression suffix. */
async function decompressed(path: string): Promise<string> {
  if (path.endsWith('.gz')) return gunzipSync(await readFile(path)).toString('utf8');
  const tool = path.endsWith('.zst')
    ? 'zstd'
    : path.endsWith('.xz')
      ? 'xz'
      : path.endsWith('.bz2')
        ? 'bzip2'
        : '';
  if (!tool) return readFile(path, 'utf8');
  return (await execFile([tool, '-dc', path])).stdout;
}

export async function readPrimaryPackages(path: string): Promise<PrimaryPackage[]> {
  return primaryPackages(await decompressed(path));
}

export interface RepoCheck {
  records: RepomdRecord[];
  /** Empty when the new metadata may be served. */
  problems: string[];
  /** True when only the signature failed: a wrong key, not a pull that raced a publish. */
  badSignature: boolean;
  /** Fetched files (hrefs) with another checksum than repomd.xml names: fetched again next time. */
  mismatched: string[];
}

/**
 * Checks new metadata of one repo: `newRepoDir` holds the fetched repodata/, `mirrorRepoDir`
 * is the served repo whose packages the new primary must find.
 */
export async function checkNewMetadata(
  key: TrustedKey,
  newRepoDir: string,
  mirrorRepoDir: string,
): Promise<RepoCheck> {
  const repomd = join(newRepoDir, 'repodata', 'repomd.xml');
  const problems: string[] = [];
  const mismatched: string[] = [];
  let records: RepomdRecord[];
  try {
    records = parseRepomd(await readFile(repomd, 'utf8')).records;
  } catch (err) {
    return {
      records: [],
      problems: [`repomd.xml unreadable: ${errorMessage(err)}`],
      badSignature: false,
      mismatched: [],
    };
  }
  const signed = await signedByTrustedKey(key, repomd);
  if (!signed) problems.push('repomd.xml.asc does not verify with the release key');
  for (const record of records) {
    const actual = await checksumOf(join(newRepoDir, record.href), record.checksumType);
    if (actual === record.checksum) continue;
    problems.push(`${record.href} ${actual ? 'has another checksum' : 'is missing'}`);
    if (actual) mismatched.push(record.href);
  }
  const primary = records.find((r) => r.type === 'primary');
  if (primary && !problems.length) {
    let missing = 0;
    let first = '';
    for (const pkg of await readPrimaryPackages(join(newRepoDir, primary.href))) {
      const info = await lstat(join(mirrorRepoDir, pkg.href)).catch(() => undefined);
      if (info?.isFile() && info.size === pkg.size) continue;
      missing++;
      first ||= pkg.href;
    }
    if (missing) problems.push(`${missing} packages it names are not on the mirror yet (first: ${first})`);
  }
  return { records, problems, badSignature: !signed && problems.length === 1, mismatched };
}
