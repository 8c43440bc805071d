import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { PATTERNS } from '../../shared/patterns.ts';

/**
 * Reads the local koji-like package store (layout documented in cli/demo/package-store.ts):
 * `tags/<tag>.json` lists builds in tag order, RPMs live at `packages/N/V/R/ARCH/`.
 */

const name = z.string().regex(new RegExp(PATTERNS.packageName), { message: 'not a valid package name' });
const versionOrRelease = z
  .string()
  .regex(new RegExp(PATTERNS.versionOrRelease), { message: 'not a valid version or release' });

export const TaggedBuild = z.strictObject({
  nvr: z.string().min(1),
  name,
  version: versionOrRelease,
  release: versionOrRelease,
});
export type TaggedBuild = z.infer<typeof TaggedBuild>;

export const KojiTagFile = z.strictObject({
  name: z.string().regex(new RegExp(PATTERNS.kojiTag)),
  builds: z.array(TaggedBuild),
});
export type KojiTagFile = z.infer<typeof KojiTagFile>;

export class PackageStoreError extends Error {
  override readonly name = 'PackageStoreError';
}

export async function loadKojiTag(koji: string, tag: string): Promise<KojiTagFile> {
  if (!new RegExp(PATTERNS.kojiTag).test(tag))
    throw new PackageStoreError(`koji tag ${JSON.stringify(tag)} is invalid`);
  const path = join(koji, 'tags', `${tag}.json`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new PackageStoreError(`koji tag ${tag} has no listing at ${path}`);
  }
  const parsed = KojiTagFile.safeParse(JSON.parse(text));
  if (!parsed.success) throw new PackageStoreError(`${path}: ${parsed.error.issues[0]?.message}`);
  for (const build of parsed.data.builds) {
    if (build.nvr !== `${build.name}-${build.version}-${build.release}`)
      throw new PackageStoreError(
        `${path}: build ${JSON.stringify(build.nvr)} does not match its name-version-release`,
      );
  }
  return parsed.data;
}

/** Koji's "latest" view: the last tagged build of each name, over the given tags. */
export function latestBuilds(tags: KojiTagFile[]): TaggedBuild[] {
  const latest = new Map<string, TaggedBuild>();
  for (const tag of tags) for (const build of tag.builds) latest.set(build.name, build);
  return [...latest.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export interface StoredRpm {
  build: TaggedBuild;
  /** `noarch`, `x86_64`, …, or `src`. */
  arch: string;
  /** File name `<name>-<version>-<release>.<arch>.rpm`. */
  file: string;
  path: string;
  /** Package name from the file (a build makes several: `demo-tool`, `demo-tool-debuginfo`). */
  name: string;
}

/** Every RPM file of a build, over all arch dirs. */
export async function buildRpms(koji: string, build: TaggedBuild): Promise<StoredRpm[]> {
  const dir = join(koji, 'packages', build.name, build.version, build.release);
  let arches: string[];
  try {
    arches = await readdir(dir);
  } catch {
    throw new PackageStoreError(`build ${build.nvr} is tagged but has no packages under ${dir}`);
  }
  const out: StoredRpm[] = [];
  const suffix = `-${build.version}-${build.release}`;
  for (const arch of arches.sort()) {
    for (const file of (await readdir(join(dir, arch))).sort()) {
      if (!file.endsWith(`.${arch}.rpm`)) continue;
      const stem = file.slice(0, -`.${arch}.rpm`.length);
      if (!stem.endsWith(suffix)) continue;
      out.push({ build, arch, file, path: join(dir, arch, file), name: stem.slice(0, -suffix.length) });
    }
  }
  return out;
}
