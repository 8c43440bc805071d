import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { MajorSettings } from '../../shared/config/schema.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';

/**
 * The three git sources a compose is built from: pungi-rocky (configs), comps, and the module
 * metadata (cloned to `<compose root>/<major>_metadata`, as the seed keeps it). Each is brought
 * to the configured ref's commit before composing, and the commits are recorded in the compose.
 */
export type SourceName = keyof MajorSettings['git'];

/** What git may be pointed at: URLs and absolute paths, never something git reads as an option. */
const GIT_URL =
  /^(?:(?:https?|ssh|git|file):\/\/[A-Za-z0-9._~:/?#@!$&*+,;=%-]+|\/[A-Za-z0-9._/+-]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._/~-]+)$/;
const GIT_REF = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,100}$/;

export function checkGitSource(name: string, url: string, ref: string): void {
  if (!GIT_URL.test(url))
    throw new HostOperationError(
      `git source ${name}: url ${JSON.stringify(url)} is not a git URL or absolute path`,
    );
  if (!GIT_REF.test(ref))
    throw new HostOperationError(`git source ${name}: ref ${JSON.stringify(ref)} is not a valid ref`);
}

/** Where each source is checked out: the host's work area, and the seed's metadata dir. */
export function sourceDirs(
  root: string,
  major: string,
  moduleMetadataDir: string,
): Record<SourceName, string> {
  const work = join(root, 'var', 'lib', 'releng', 'git', major);
  return { pungi: join(work, 'pungi-rocky'), comps: join(work, 'comps'), moduleMetadata: moduleMetadataDir };
}

/**
 * Clones (first time) or fetches `ref`, then checks out exactly that commit, discarding local
 * edits. Returns the commit, or undefined in a dry run.
 */
export async function checkoutSource(
  ctx: OperationContext,
  name: SourceName,
  source: { url: string; ref: string },
  dir: string,
): Promise<string | undefined> {
  checkGitSource(name, source.url, source.ref);
  const git = (...args: string[]) => ctx.run(['git', '-C', dir, ...args]);
  return ctx.step(`bring ${name} (${source.url} ${source.ref}) to ${dir}`, async () => {
    if (!existsSync(join(dir, '.git'))) {
      await mkdir(dirname(dir), { recursive: true });
      await ctx.run(['git', 'clone', '--quiet', '--no-checkout', '--', source.url, dir]);
    } else {
      await git('remote', 'set-url', 'origin', source.url);
    }
    await git('fetch', '--quiet', '--force', 'origin', source.ref);
    await git('checkout', '--quiet', '--force', '--detach', 'FETCH_HEAD');
    await git('clean', '--quiet', '-f', '-d', '-x');
    return (await ctx.read(['git', '-C', dir, 'rev-parse', 'HEAD'])).stdout.trim();
  });
}
