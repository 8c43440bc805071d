import { constants, existsSync, statSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { REGEX } from '../../shared/patterns.ts';
import { UsageError } from '../args.ts';

/**
 * Checks every command makes before it starts an execution or takes a lock, so bad input is one
 * clear line naming the bad value (exit 2) and nothing is left half-started.
 */

/** Read-only commands never create a root: a missing one is a mistake in --root. */
export function requireExistingRoot(rootOption: string | undefined): string {
  const root = resolve(rootOption ?? '.releng');
  if (!existsSync(root)) {
    throw new UsageError(
      `--root ${root}: no such directory; nothing has run there (releng demo or releng compose creates a root)`,
    );
  }
  if (!statSync(root).isDirectory()) throw new UsageError(`--root ${root}: not a directory`);
  return root;
}

/** A root to write in: an existing writable directory, or one the nearest existing parent lets us make. */
export async function requireWritableRoot(rootOption: string | undefined): Promise<string> {
  const root = resolve(rootOption ?? '.releng');
  let existing = root;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (!statSync(existing).isDirectory())
    throw new UsageError(`--root ${root}: ${existing} is not a directory`);
  try {
    await access(existing, constants.W_OK | constants.X_OK);
  } catch {
    throw new UsageError(
      existing === root
        ? `--root ${root}: not writable by this user`
        : `--root ${root}: cannot be created (${existing} is not writable by this user)`,
    );
  }
  return root;
}

export const RELEASE_FORMAT = /^[0-9]{1,3}\.[0-9]{1,3}$/;

/** `--release 8.10`: MAJOR.MINOR, and of the major asked for when both are given. */
export function checkRelease(release: string | undefined, major: string | undefined): void {
  if (release === undefined) return;
  if (!RELEASE_FORMAT.test(release)) {
    throw new UsageError(`--release ${JSON.stringify(release)}: expected MAJOR.MINOR, e.g. 8.10`);
  }
  if (major !== undefined && release.split('.')[0] !== major) {
    throw new UsageError(`--release ${release} is not a release of --major ${major}`);
  }
}

/** The major and the composes a command names are configured. */
export function checkConfigured(config: ReleaseConfig, major: string, composes: string[] = []): void {
  const settings = config.majors[major];
  if (!settings) {
    throw new UsageError(
      `--major ${JSON.stringify(major)}: not configured (have ${Object.keys(config.majors).join(', ')})`,
    );
  }
  const known = [...Object.keys(settings.composes), ...Object.keys(settings.sigComposes ?? {})];
  // A name that is not even an identifier is left to the request schema, which names it so.
  for (const compose of composes.filter((c) => REGEX.identifier.test(c))) {
    if (!known.includes(compose)) {
      throw new UsageError(
        `--compose ${JSON.stringify(compose)}: not a compose of major ${major} (have ${known.join(', ')})`,
      );
    }
  }
}
