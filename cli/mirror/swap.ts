import { existsSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorMessage, isErrno } from '../../shared/errors.ts';
import { namedInRepodata, planRetention, type Retained } from '../../shared/mirror/plan.ts';

/**
 * Swapping a repo's checked metadata into the served tree. The new repodata/ is assembled in
 * the state dir beside the mirror (same file system): hard links to the fetched files plus the
 * superseded files still in their grace period. Then the served dir is moved aside and the new
 * one renamed into place. A kill at any point is repaired by `recoverSwaps` on the next run.
 */

export interface StateDirs {
  state: string;
  incoming: string;
  swap: string;
  aside: string;
  retainedFile: string;
}

export function stateDirs(mirror: string): StateDirs {
  // Beside the served tree, never inside it, so nothing partial is ever served.
  const state = join(dirname(mirror), `.${mirror.split('/').filter(Boolean).at(-1)}.mirror-pull`);
  return {
    state,
    incoming: join(state, 'incoming'),
    swap: join(state, 'swap'),
    aside: join(state, 'aside'),
    retainedFile: join(state, 'retained.json'),
  };
}

const asideName = (repo: string) => encodeURIComponent(repo);

/** Puts back a served repodata/ a killed swap had moved aside, and clears half-built swaps. */
export async function recoverSwaps(mirror: string, dirs: StateDirs): Promise<string[]> {
  const restored: string[] = [];
  for (const name of await readdir(dirs.aside).catch(() => [] as string[])) {
    const repo = decodeURIComponent(name);
    const served = join(mirror, repo, 'repodata');
    if (!existsSync(served)) {
      await rename(join(dirs.aside, name), served);
      restored.push(repo);
    } else await rm(join(dirs.aside, name), { recursive: true, force: true });
  }
  await rm(dirs.swap, { recursive: true, force: true });
  return restored;
}

export async function readRetained(dirs: StateDirs): Promise<Retained> {
  try {
    return JSON.parse(await readFile(dirs.retainedFile, 'utf8')) as Retained;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return {};
    throw new Error(`${dirs.retainedFile}: ${errorMessage(err)}`);
  }
}

async function writeRetained(dirs: StateDirs, retained: Retained): Promise<void> {
  const tmp = `${dirs.retainedFile}.tmp`;
  await writeFile(tmp, `${JSON.stringify(retained, null, 1)}\n`);
  await rename(tmp, dirs.retainedFile);
}

const filesOf = (dir: string) => readdir(dir).catch(() => [] as string[]);

/**
 * Serves the fetched metadata of `repo`, keeping superseded files for `keepMs`. Returns the
 * superseded files removed because their grace period had passed.
 */
export async function swapIn(options: {
  mirror: string;
  dirs: StateDirs;
  repo: string;
  hrefs: string[];
  keepMs: number;
  now: number;
}): Promise<string[]> {
  const { mirror, dirs, repo } = options;
  const served = join(mirror, repo, 'repodata');
  const fetched = join(dirs.incoming, repo, 'repodata');
  const built = join(dirs.swap, asideName(repo));
  await rm(built, { recursive: true, force: true });
  await mkdir(built, { recursive: true });
  const fresh = new Set(await filesOf(fetched));
  for (const name of fresh) await link(join(fetched, name), join(built, name));
  for (const name of await filesOf(served))
    if (!fresh.has(name)) await link(join(served, name), join(built, name)).catch(() => {});
  const plan = planRetention({
    retained: await readRetained(dirs),
    repo,
    present: await filesOf(built),
    named: namedInRepodata(options.hrefs),
    now: options.now,
    keepMs: options.keepMs,
  });
  for (const name of plan.remove) await unlink(join(built, name));
  // Recorded before the swap: a kill after it must not forget when a file was superseded.
  await writeRetained(dirs, plan.retained);
  await mkdir(dirs.aside, { recursive: true });
  await mkdir(dirname(served), { recursive: true });
  const aside = join(dirs.aside, asideName(repo));
  if (existsSync(served)) await rename(served, aside);
  await rename(built, served);
  await rm(aside, { recursive: true, force: true });
  return plan.remove;
}

/** Removes superseded files of a served repo whose grace period has passed (no new metadata). */
export async function pruneExpired(options: {
  mirror: string;
  dirs: StateDirs;
  repo: string;
  hrefs: string[];
  keepMs: number;
  now: number;
}): Promise<string[]> {
  const served = join(options.mirror, options.repo, 'repodata');
  const plan = planRetention({
    retained: await readRetained(options.dirs),
    repo: options.repo,
    present: await filesOf(served),
    named: namedInRepodata(options.hrefs),
    now: options.now,
    keepMs: options.keepMs,
  });
  await writeRetained(options.dirs, plan.retained);
  for (const name of plan.remove) await unlink(join(served, name)).catch(() => {});
  return plan.remove;
}
