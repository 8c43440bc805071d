import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { isErrno } from '../../shared/errors.ts';
import type { ReleasePaths } from '../../shared/release.ts';
import { writeFileAtomic } from '../framework/fsutil.ts';

/**
 * Bookkeeping kept beside, never inside, the mirror trees (`<staging mount>/.releng/`): which
 * compose each lane last synced into a staging release, and the manifests verify writes.
 */

const StagedComposes = z.strictObject({
  stagingDir: z.string(),
  composes: z.record(z.string(), z.strictObject({ composeId: z.string(), syncedAt: z.string() })),
});
export type StagedComposes = z.infer<typeof StagedComposes>;

export function relengDir(paths: ReleasePaths): string {
  return join(paths.staging, '.releng');
}

function stagedFile(paths: ReleasePaths, stagingDir: string): string {
  return join(relengDir(paths), 'staged', `${stagingDir}.json`);
}

export async function readStaged(paths: ReleasePaths, stagingDir: string): Promise<StagedComposes> {
  try {
    return StagedComposes.parse(JSON.parse(await readFile(stagedFile(paths, stagingDir), 'utf8')));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { stagingDir, composes: {} };
    throw err;
  }
}

export async function recordStaged(
  paths: ReleasePaths,
  stagingDir: string,
  compose: string,
  composeId: string,
  now: Date,
): Promise<void> {
  const staged = await readStaged(paths, stagingDir);
  staged.composes[compose] = { composeId, syncedAt: now.toISOString() };
  await writeFileAtomic(stagedFile(paths, stagingDir), `${JSON.stringify(staged, null, 2)}\n`);
}
