import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { MajorSettings } from '../../shared/config/schema.ts';
import { isErrno } from '../../shared/errors.ts';
import { allRepos } from '../../shared/release.ts';

/**
 * Where the repos of a release tree are. Two views: the seed's fixed layout (prep-staging
 * walks it and says what is missing), and discovery of every dir holding repodata/repomd.xml
 * (sign-repos and verify-staging must miss none, whatever the layout).
 */

export type RepoKind = 'os' | 'debug' | 'source' | 'kickstart';

export interface StagingRepo {
  /** `BaseOS` */
  repo: string;
  /** `x86_64`, or `source` for the source tree. */
  arch: string;
  kind: RepoKind;
  /** The dir holding `repodata/`. */
  dir: string;
  /** Relative to the release dir: `BaseOS/x86_64/os`. */
  rel: string;
  withComps: boolean;
  modules: boolean;
}

/** The seed's repo layout of a release dir (common_X lists), whether or not each exists. */
export function releaseRepoLayout(settings: MajorSettings, releaseDir: string): StagingRepo[] {
  const out: StagingRepo[] = [];
  const add = (repo: string, arch: string, kind: RepoKind, rel: string) =>
    out.push({
      repo,
      arch,
      kind,
      rel,
      dir: join(releaseDir, rel),
      withComps: settings.reposWithComps.includes(repo),
      modules: settings.moduleRepos.includes(repo),
    });
  for (const repo of allRepos(settings)) add(repo, 'source', 'source', `${repo}/source/tree`);
  for (const arch of settings.arches) {
    for (const repo of allRepos(settings)) {
      add(repo, arch, 'os', `${repo}/${arch}/os`);
      add(repo, arch, 'debug', `${repo}/${arch}/debug/tree`);
      add(repo, arch, 'kickstart', `${repo}/${arch}/kickstart`);
    }
  }
  return out;
}

/** Package dirs and repodata hold no repos: skipping them keeps discovery cheap on big trees. */
const NOT_DESCENDED = new Set(['Packages', 'repodata', '.releng']);

/**
 * Every dir under `tree` that holds `repodata/repomd.xml`, relative to `tree`, sorted.
 * Symlinks are not followed (`nfv -> NFV` would list a repo twice).
 */
export async function findRepoDirs(tree: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    const repodata = entries.find((e) => e.isDirectory() && e.name === 'repodata');
    if (repodata) {
      const inside = await readdir(join(dir, 'repodata'));
      if (inside.includes('repomd.xml')) found.push(relative(tree, dir) || '.');
    }
    await Promise.all(
      entries
        .filter((e) => e.isDirectory() && !NOT_DESCENDED.has(e.name))
        .map((e) => visit(join(dir, e.name))),
    );
  };
  await visit(tree);
  return found.sort();
}
