import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errorMessage } from '../../shared/errors.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import { sha256 } from '../framework/fsutil.ts';
import type { HostOperation } from '../framework/operation.ts';
import { selectedRelease } from '../publish/release.ts';
import { addRepoMetadata } from '../repo/repo-edit.ts';
import { readRepomd } from '../repo/repomd.ts';
import { type Advisory, packagesFor, parseUpdateinfo, updateinfoXml } from '../repo/updateinfo.ts';

/**
 * apply-updateinfo: errata into every `os` repo of the staging release but the configured
 * skip list (apollo_tree's). From `--updateinfo FILE` (advisories go to the repos that carry
 * their packages) or from Apollo per repo and arch (a 404 skips that repo, any other failure
 * fails the step). An advisory whose packages are not all in the repo fails naming them.
 * modifyrepo_c replaces an existing updateinfo; a repo already holding the same one is left
 * alone. Run sign-repos after it: every repomd edit needs a new signature.
 */

interface OsRepo {
  repo: string;
  arch: string;
  dir: string;
}

async function osRepos(releaseDir: string, arches: string[], skip: string[]): Promise<OsRepo[]> {
  const out: OsRepo[] = [];
  for (const repo of (await readdir(releaseDir)).sort()) {
    if (skip.includes(repo) || (await lstat(join(releaseDir, repo))).isSymbolicLink()) continue;
    for (const arch of arches) {
      const dir = join(releaseDir, repo, arch, 'os');
      if (existsSync(join(dir, 'repodata', 'repomd.xml'))) out.push({ repo, arch, dir });
    }
  }
  return out;
}

async function packageFiles(repoDir: string): Promise<Set<string>> {
  const dir = join(repoDir, 'Packages');
  if (!existsSync(dir)) return new Set();
  return new Set((await readdir(dir, { recursive: true })).map((f) => basename(String(f))));
}

function missingPackages(advisory: Advisory, arch: string, present: Set<string>): string[] {
  return packagesFor(advisory, arch)
    .filter((p) => !present.has(p.filename))
    .map((p) => p.filename);
}

/** Fetches Apollo's updateinfo for one repo and arch; undefined on 404. */
async function fetchApollo(
  ctx: OperationContext,
  product: string,
  repo: OsRepo,
): Promise<string | undefined> {
  const base = ctx.config.errata.apolloBaseUrl.replace(/\/+$/, '');
  const url = `${base}/${encodeURIComponent(`${product} ${repo.arch}`)}/${encodeURIComponent(repo.repo)}/updateinfo.xml?req_arch=${encodeURIComponent(repo.arch)}`;
  ctx.log(`GET ${url}`);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new HostOperationError(`apollo: ${url}: ${errorMessage(err)}`);
  }
  if (response.status === 404) {
    ctx.log(`apollo has no updateinfo for ${repo.repo} ${repo.arch} (404), skipped`);
    return undefined;
  }
  if (!response.ok)
    throw new HostOperationError(`apollo: ${url} answered ${response.status} ${response.statusText}`);
  return response.text();
}

/** Puts `advisories` into a repo unless the same updateinfo is already there. */
async function applyTo(ctx: OperationContext, repo: OsRepo, advisories: Advisory[]): Promise<boolean> {
  const xml = updateinfoXml(advisories);
  const current = (await readRepomd(join(repo.dir, 'repodata', 'repomd.xml'))).records.find(
    (r) => r.type === 'updateinfo',
  );
  if (current?.openChecksum === sha256(xml)) return false;
  await ctx.step(`updateinfo (${advisories.map((a) => a.id).join(', ')}) into ${repo.dir}`, async () => {
    const tmp = await mkdtemp(join(repo.dir, '.releng-updateinfo-'));
    try {
      await writeFile(join(tmp, 'updateinfo.xml'), xml);
      await addRepoMetadata(ctx, repo.dir, join(tmp, 'updateinfo.xml'), 'updateinfo', 'gz');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
  return true;
}

export const applyUpdateinfo: HostOperation<'apply-updateinfo'> = {
  name: 'apply-updateinfo',
  trees: ['staging'],
  async run(ctx) {
    const { release, paths } = selectedRelease(ctx);
    const settings = release.settings;
    const file = ctx.options.updateinfo;
    if (file && !existsSync(file)) throw new HostOperationError(`--updateinfo ${file} does not exist`);
    if (!existsSync(paths.stagingRelease))
      throw new HostOperationError(`staging release ${paths.stagingRelease} does not exist`);
    const fromFile = file ? parseOrFail(await readFile(file, 'utf8'), file) : undefined;
    const repos = await osRepos(paths.stagingRelease, settings.arches, settings.errataSkip);
    const applied = new Set<string>();
    const changed: string[] = [];
    const unchanged: string[] = [];
    const skipped: string[] = [];
    for (const repo of repos) {
      const present = await packageFiles(repo.dir);
      const label = `${repo.repo}/${repo.arch}`;
      let advisories: Advisory[];
      if (fromFile) {
        advisories = fromFile.filter((a) => packagesFor(a, repo.arch).some((p) => present.has(p.filename)));
      } else {
        const text = await fetchApollo(ctx, settings.errataProduct, repo);
        if (text === undefined) {
          skipped.push(label);
          continue;
        }
        advisories = parseOrFail(text, `apollo ${label}`);
      }
      for (const advisory of advisories) {
        const missing = missingPackages(advisory, repo.arch, present);
        if (missing.length)
          throw new HostOperationError(
            `advisory ${advisory.id} names packages missing from ${label}: ${missing.join(', ')}`,
          );
      }
      if (advisories.length === 0) continue;
      (await applyTo(ctx, repo, advisories)) ? changed.push(label) : unchanged.push(label);
      for (const a of advisories) applied.add(a.id);
    }
    const unplaced = (fromFile ?? []).filter((a) => !applied.has(a.id));
    if (unplaced.length)
      throw new HostOperationError(
        `advisories whose packages are in no os repo: ${unplaced.map((a) => `${a.id} (${a.packages.map((p) => p.filename).join(', ')})`).join('; ')}`,
      );
    return {
      advisories: [...applied].sort(),
      changed,
      unchanged,
      skipped,
      next: 'run sign-repos: repomd.xml changed',
    };
  },
};

function parseOrFail(xml: string, source: string): Advisory[] {
  try {
    return parseUpdateinfo(xml);
  } catch (err) {
    throw new HostOperationError(`${source}: ${errorMessage(err)}`);
  }
}
