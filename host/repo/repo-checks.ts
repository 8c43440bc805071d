import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { OperationContext } from '../framework/context.ts';
import { sha256File } from '../framework/fsutil.ts';
import { signatureValid } from './gpg.ts';
import { readRepomd } from './repomd.ts';
import { packagesFor, parseUpdateinfo } from './updateinfo.ts';

/**
 * The checks verify-staging runs on one repo. Each returns problems as sentences naming the
 * repo and what is wrong; an empty list means the repo passed.
 */

export interface RepoFacts {
  /** Relative to the release dir: `BaseOS/x86_64/os`. */
  rel: string;
  dir: string;
  repomdSha256: string;
  packageCount: number;
  advisories: string[];
  types: string[];
}

export async function rpmFiles(repoDir: string): Promise<string[]> {
  const dir = join(repoDir, 'Packages');
  if (!existsSync(dir)) return [];
  return (await readdir(dir, { recursive: true })).map(String).filter((f) => f.endsWith('.rpm'));
}

/** Signature, every file repomd names with its checksum, and the updateinfo's packages. */
export async function checkRepo(
  ctx: OperationContext,
  releaseDir: string,
  rel: string,
  signer: { gpgHome: string; keyId: string },
  problems: string[],
): Promise<RepoFacts> {
  const dir = join(releaseDir, rel);
  const repomdPath = join(dir, 'repodata', 'repomd.xml');
  if (!(await signatureValid(ctx, signer.gpgHome, repomdPath, signer.keyId)))
    problems.push(`${rel}: repodata/repomd.xml.asc is missing or does not verify with key ${signer.keyId}`);
  const repomd = await readRepomd(repomdPath);
  for (const record of repomd.records) {
    const file = join(dir, record.href);
    if (!existsSync(file)) {
      problems.push(`${rel}: ${record.href} (${record.type}) named by repomd.xml is missing`);
      continue;
    }
    const actual = await sha256File(file, record.checksumType === 'sha' ? 'sha1' : record.checksumType);
    if (actual !== record.checksum)
      problems.push(
        `${rel}: ${record.href} has ${record.checksumType} ${actual}, repomd.xml records ${record.checksum}`,
      );
  }
  const rpms = await rpmFiles(dir);
  const advisories: string[] = [];
  const updateinfo = repomd.records.find((r) => r.type === 'updateinfo');
  if (updateinfo && existsSync(join(dir, updateinfo.href))) {
    const raw = await readFile(join(dir, updateinfo.href));
    const xml = (updateinfo.href.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    const present = new Set(rpms.map((f) => f.split('/').at(-1)!));
    const arch = rel.split('/')[1] ?? '';
    for (const advisory of parseUpdateinfo(xml)) {
      advisories.push(advisory.id);
      const missing = packagesFor(advisory, arch).filter((p) => !present.has(p.filename));
      if (missing.length)
        problems.push(
          `${rel}: advisory ${advisory.id} names missing packages ${missing.map((p) => p.filename).join(', ')}`,
        );
    }
  }
  return {
    rel,
    dir,
    repomdSha256: await sha256File(repomdPath),
    packageCount: rpms.length,
    advisories,
    types: repomd.records.map((r) => r.type),
  };
}
