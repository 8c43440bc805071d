import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { parseComposeId } from '../../shared/compose-id.ts';
import type { MajorSettings } from '../../shared/config/schema.ts';
import type { Release } from '../../shared/release.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import { writeFileAtomic } from '../framework/fsutil.ts';
import { mapLimit } from '../repo/parallel.ts';
import { buildRpms, latestBuilds, loadKojiTag, type StoredRpm } from './package-store.ts';

/**
 * The local compose engine: what pungi-koji does for an updates compose, with createrepo_c
 * and modifyrepo_c over the local package store, into the same tree pungi writes:
 * `compose/<Variant>/<arch>/{os,debug/tree}`, `compose/<Variant>/source/tree`,
 * `compose/metadata/{composeinfo,rpms}.json` and `work/<arch>/comps/comps-<Variant>.<arch>.xml`.
 * Which package goes to which variant comes from `local-variants.json` in the pungi checkout
 * (pungi's gather); builds come from the koji tags that feed the compose (the latest of each).
 */

const VariantMap = z.strictObject({ variants: z.record(z.string(), z.array(z.string())) });

export interface LocalComposeInput {
  settings: MajorSettings;
  release: Release;
  composeName: string;
  composeId: string;
  composeDir: string;
  kojiDir: string;
  pungiDir: string;
  compsDir: string;
  moduleMetadataDir: string;
}

export interface LocalComposeResult {
  variants: string[];
  packages: number;
}

interface RepoJob {
  variant: string;
  arch: string;
  /** Path inside `compose/`: `BaseOS/x86_64/os`. */
  rel: string;
  rpms: StoredRpm[];
  comps?: string;
  modules?: string;
}

async function placeRpm(rpm: StoredRpm, repoDir: string): Promise<string> {
  const dir = join(repoDir, 'Packages', rpm.file[0]!.toLowerCase());
  await mkdir(dir, { recursive: true });
  const target = join(dir, rpm.file);
  if (existsSync(target)) return target;
  // Pungi hardlinks from the koji mount when it can; a copy where it cannot.
  await link(rpm.path, target).catch(() => copyFile(rpm.path, target));
  return target;
}

async function variantMap(pungiDir: string): Promise<Record<string, string[]>> {
  const path = join(pungiDir, 'local-variants.json');
  if (!existsSync(path))
    throw new HostOperationError(
      `the local engine needs ${path} (variant -> packages) in the pungi config repo`,
    );
  const parsed = VariantMap.safeParse(JSON.parse(await readFile(path, 'utf8')));
  if (!parsed.success) throw new HostOperationError(`${path}: ${parsed.error.issues[0]?.message}`);
  return parsed.data.variants;
}

function planRepos(input: LocalComposeInput, rpms: StoredRpm[], map: Record<string, string[]>): RepoJob[] {
  const { settings } = input;
  const composeSettings = settings.composes[input.composeName]!;
  const variants = composeSettings.variants.filter((v) => !settings.isoOnlyVariants.includes(v));
  const jobs: RepoJob[] = [];
  for (const variant of variants) {
    const names = new Set(map[variant] ?? []);
    const builds = new Set(rpms.filter((r) => names.has(r.name)).map((r) => r.build.nvr));
    jobs.push({
      variant,
      arch: 'source',
      rel: `${variant}/source/tree`,
      rpms: rpms.filter((r) => r.arch === 'src' && builds.has(r.build.nvr)),
    });
    for (const arch of settings.arches) {
      const compsFile = join(input.compsDir, `comps-${variant}.xml`);
      const withComps = settings.reposWithComps.includes(variant);
      if (withComps && !existsSync(compsFile))
        throw new HostOperationError(`comps repo has no comps-${variant}.xml for variant ${variant}`);
      const modulesFile = join(input.moduleMetadataDir, arch, `${variant}-modules.yaml`);
      jobs.push({
        variant,
        arch,
        rel: `${variant}/${arch}/os`,
        rpms: rpms.filter((r) => names.has(r.name) && (r.arch === arch || r.arch === 'noarch')),
        comps: withComps ? compsFile : undefined,
        modules: settings.moduleRepos.includes(variant) && existsSync(modulesFile) ? modulesFile : undefined,
      });
      jobs.push({
        variant,
        arch,
        rel: `${variant}/${arch}/debug/tree`,
        rpms: rpms.filter(
          (r) => r.arch === arch && r.name.endsWith('-debuginfo') && names.has(r.name.slice(0, -10)),
        ),
      });
    }
  }
  return jobs;
}

async function buildRepo(ctx: OperationContext, input: LocalComposeInput, job: RepoJob): Promise<void> {
  const repoDir = join(input.composeDir, 'compose', job.rel);
  await mkdir(repoDir, { recursive: true });
  for (const rpm of job.rpms) await placeRpm(rpm, repoDir);
  const argv = [
    'createrepo_c',
    '--quiet',
    `--distro=${input.settings.distroTag}`,
    `--revision=${input.release.revision}`,
    '--checksum=sha256',
    `--workers=${ctx.config.createrepoWorkers}`,
  ];
  if (job.comps) {
    // Pungi writes per-arch comps under work/; staging's createrepo reuses them from there.
    const perArch = join(input.composeDir, 'work', job.arch, 'comps', `comps-${job.variant}.${job.arch}.xml`);
    await mkdir(join(perArch, '..'), { recursive: true });
    await copyFile(job.comps, perArch);
    argv.push(`--groupfile=${perArch}`);
  }
  await ctx.run([...argv, repoDir]);
  if (job.modules) {
    // modifyrepo_c names the record after the file: a private copy called modules.yaml.
    const tmp = await mkdtemp(join(input.composeDir, 'work', '.modules-'));
    try {
      await copyFile(job.modules, join(tmp, 'modules.yaml'));
      await ctx.run([
        'modifyrepo_c',
        '--mdtype=modules',
        '--compress-type=xz',
        join(tmp, 'modules.yaml'),
        join(repoDir, 'repodata'),
      ]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
}

/** Sets `value` at `keys` in nested records, creating the levels on the way. */
function setPath(tree: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    if (!node[key]) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

function nevra(rpm: StoredRpm): string {
  return `${rpm.name}-0:${rpm.build.version}-${rpm.build.release}.${rpm.arch}`;
}

/** productmd's rpms.json and composeinfo.json, the parts sync and verify read. */
async function writeMetadata(input: LocalComposeInput, jobs: RepoJob[]): Promise<void> {
  const parts = parseComposeId(input.composeId);
  const compose = { id: input.composeId, date: parts.date, respin: parts.respin, type: parts.label };
  const rpms: Record<string, Record<string, unknown>> = {};
  for (const job of jobs) {
    for (const rpm of job.rpms) {
      const srpm = `${rpm.build.name}-0:${rpm.build.version}-${rpm.build.release}.src`;
      const arch = job.arch === 'source' ? 'src' : job.arch;
      const category = rpm.arch === 'src' ? 'source' : rpm.name.endsWith('-debuginfo') ? 'debug' : 'binary';
      const path = `${job.rel}/Packages/${rpm.file[0]!.toLowerCase()}/${rpm.file}`;
      setPath(rpms, [job.variant, arch, srpm, nevra(rpm)], { path, sigkey: null, category });
    }
  }
  const header = (type: string) => ({ type, version: '1.2' });
  const release = {
    name: 'Rocky Linux',
    short: parts.short,
    version: parts.version,
    type: parts.type,
    is_layered: false,
  };
  const variants = Object.fromEntries(
    [...new Set(jobs.map((j) => j.variant))].map((variant) => {
      const arches = input.settings.arches;
      const per = (sub: string) => Object.fromEntries(arches.map((a) => [a, `${variant}/${a}/${sub}`]));
      return [
        variant,
        {
          id: variant,
          uid: variant,
          name: variant,
          type: 'variant',
          arches,
          paths: {
            os_tree: per('os'),
            packages: per('os/Packages'),
            repository: per('os'),
            debug_tree: per('debug/tree'),
            debug_packages: per('debug/tree/Packages'),
            debug_repository: per('debug/tree'),
            source_tree: Object.fromEntries(arches.map((a) => [a, `${variant}/source/tree`])),
            source_packages: Object.fromEntries(arches.map((a) => [a, `${variant}/source/tree/Packages`])),
            source_repository: Object.fromEntries(arches.map((a) => [a, `${variant}/source/tree`])),
          },
        },
      ];
    }),
  );
  const dir = join(input.composeDir, 'compose', 'metadata');
  await writeFileAtomic(
    join(dir, 'rpms.json'),
    `${JSON.stringify({ header: header('productmd.rpms'), payload: { compose, rpms } }, null, 2)}\n`,
  );
  await writeFileAtomic(
    join(dir, 'composeinfo.json'),
    `${JSON.stringify({ header: header('productmd.composeinfo'), payload: { compose, release, variants } }, null, 2)}\n`,
  );
}

export async function composeLocally(
  ctx: OperationContext,
  input: LocalComposeInput,
): Promise<LocalComposeResult> {
  const tags = Object.entries(input.settings.kojiTags)
    .filter(([, compose]) => compose === input.composeName)
    .map(([tag]) => tag);
  if (tags.length === 0) throw new HostOperationError(`no koji tag feeds compose ${input.composeName}`);
  const listings = await Promise.all(tags.map((tag) => loadKojiTag(input.kojiDir, tag)));
  const rpms = (await Promise.all(latestBuilds(listings).map((b) => buildRpms(input.kojiDir, b)))).flat();
  const map = await variantMap(input.pungiDir);
  const jobs = planRepos(input, rpms, map);
  const placedNames = new Set(jobs.flatMap((j) => j.rpms.map((r) => r.name)));
  const unplaced = [
    ...new Set(rpms.filter((r) => r.arch !== 'src' && !placedNames.has(r.name)).map((r) => r.name)),
  ];
  // Pungi leaves out what no variant gathers; say so, a missing mapping is the usual cause.
  if (unplaced.length) ctx.log(`not in any variant of ${input.composeName}: ${unplaced.sort().join(', ')}`);
  await mapLimit(jobs, 2, (job) => buildRepo(ctx, input, job));
  await writeMetadata(input, jobs);
  const placed = new Set(jobs.flatMap((j) => j.rpms.map((r) => r.file)));
  return { variants: [...new Set(jobs.map((j) => j.variant))], packages: placed.size };
}
