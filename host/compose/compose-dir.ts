import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ComposeIdParts, composeDate, nextComposeId, parseComposeId } from '../../shared/compose-id.ts';
import type { ComposeKind } from '../../shared/config/schema.ts';
import { isErrno } from '../../shared/errors.ts';
import type { Release } from '../../shared/release.ts';
import { HostOperationError } from '../framework/context.ts';
import { writeFileAtomic } from '../framework/fsutil.ts';

/**
 * The ID a new compose gets, as pungi forms it: updates composes are versioned by the major
 * (`Rocky-8-updates-20210721.1`), produce composes by the revision (`Rocky-8.7-20221110.0`).
 */
export function composeIdBase(
  short: string,
  kind: ComposeKind,
  release: Release,
  now: Date,
): Omit<ComposeIdParts, 'respin'> {
  return {
    short,
    version: kind === 'produce' ? release.revision : release.major,
    type: kind === 'produce' ? 'ga' : 'updates',
    date: composeDate(now),
    label: 'production',
  };
}

export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}

/** The next free ID under `composeRoot` (respin +1 per existing compose of the day). */
export async function nextFreeComposeId(
  composeRoot: string,
  base: Omit<ComposeIdParts, 'respin'>,
): Promise<string> {
  return nextComposeId(base, await listDir(composeRoot));
}

/**
 * Creates the compose dir under a fresh ID: mkdir without -p fails if another run took the
 * name first, and then the next respin is tried, as pungi does.
 */
export async function createComposeDir(
  composeRoot: string,
  base: Omit<ComposeIdParts, 'respin'>,
): Promise<{ composeId: string; composeDir: string }> {
  await mkdir(composeRoot, { recursive: true });
  for (let attempt = 0; attempt < 100; attempt++) {
    const composeId = await nextFreeComposeId(composeRoot, base);
    const composeDir = join(composeRoot, composeId);
    try {
      await mkdir(composeDir);
    } catch (err) {
      if (isErrno(err, 'EEXIST')) continue;
      throw err;
    }
    await writeFileAtomic(join(composeDir, 'COMPOSE_ID'), `${composeId}\n`);
    await writeFileAtomic(join(composeDir, 'STATUS'), 'STARTED\n');
    return { composeId, composeDir };
  }
  throw new HostOperationError(`could not allocate a compose dir under ${composeRoot}`);
}

/** An existing compose to resume: its dir must hold the COMPOSE_ID it is named after. */
export async function existingCompose(
  composeRoot: string,
  composeId: string,
  short: string,
): Promise<string> {
  const parts = parseComposeId(composeId);
  if (parts.short !== short)
    throw new HostOperationError(`--resume ${composeId} is a ${parts.short} compose, not ${short}`);
  const composeDir = join(composeRoot, composeId);
  if (!existsSync(composeDir))
    throw new HostOperationError(`--resume ${composeId}: no compose dir ${composeDir}`);
  const recorded = (await readFile(join(composeDir, 'COMPOSE_ID'), 'utf8').catch(() => '')).trim();
  if (recorded !== composeId)
    throw new HostOperationError(
      `--resume ${composeId}: ${composeDir}/COMPOSE_ID holds ${JSON.stringify(recorded)}`,
    );
  return composeDir;
}
