import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadKojiTag, type TaggedBuild } from '../../host/compose/package-store.ts';
import { execFile } from '../../host/framework/exec.ts';
import { writeFileAtomic } from '../../host/framework/fsutil.ts';
import {
  type BuiltRpm,
  buildRpm,
  exportPublicKey,
  generateSigningKey,
  nvr,
  type RpmSpec,
  type SigningKey,
  signRpms,
} from './rpm-tools.ts';
import { EXTRAS_TAG, storeLayout, UPDATES_TAG } from './store-layout.ts';

/**
 * A small, real, koji-like package store for the demo and the integration tests.
 *
 * Layout under `<root>/mnt/koji` (the host's local compose engine reads exactly this):
 *   packages/<name>/<version>/<release>/<arch>/<nvr>.<arch>.rpm   koji's own package layout;
 *                                                               source RPMs under arch `src`
 *   tags/<tag>.json        { name, builds: [{ nvr, name, version, release, arches }] } in tag
 *                          order: the last tagged build of a name is the latest, as in koji
 *   keys/RPM-GPG-KEY-rocky-demo   public half of the demo key that signs RPMs and repomd.xml
 *   errata/updateinfo.xml  the advisory of the update build (Apollo's updateinfo format)
 * Git repositories (bare, branch `r<major>`) under `<root>/git/`:
 *   pungi-rocky.git            pungi configs named as the config's pungiConfig, plus
 *                              local-variants.json: variant -> package names (pungi's gather)
 *   comps.git                  comps-<Variant>.xml for each variant that has comps
 *   rocky-module-metadata.git  <arch>/<Variant>-modules.yaml, as the seed's 8_metadata holds
 * The signing key's gpg home is the configured signing.gpgHome under the root, so sign-repos
 * finds it exactly where a compose host keeps the key it got from Secrets Manager.
 */

export const ADVISORY_ID = 'RLBA-2026:0001';
export { EXTRAS_TAG, UPDATES_TAG } from './store-layout.ts';

interface StoreBuild {
  tag: 'updates' | 'extras';
  spec: Omit<RpmSpec, 'arch'>;
  arches: string[];
}

/** The first cycle's builds: few, but every kind the pipeline must handle. */
function initialBuilds(major: string): StoreBuild[] {
  const v = (name: string, version = '1.0', release = `1.el${major}`) => ({ name, version, release });
  return [
    { tag: 'updates', spec: v('rocky-demo-release', major), arches: ['noarch'] },
    { tag: 'updates', spec: v('demo-hello'), arches: ['noarch'] },
    {
      tag: 'updates',
      spec: { ...v('demo-tool'), debuginfo: true, requires: ['demo-hello'] },
      arches: ['x86_64', 'aarch64'],
    },
    { tag: 'updates', spec: v('demo-modlib'), arches: ['noarch'] },
    { tag: 'updates', spec: v('demo-headers'), arches: ['noarch'] },
    { tag: 'extras', spec: v('demo-extras'), arches: ['noarch'] },
  ];
}

export interface PackageStore {
  root: string;
  major: string;
  koji: string;
  key: SigningKey;
  /** The demo's `gpgPublicKey`: the key that signs RPMs and repomd.xml. */
  publicKeyPath: string;
  /** Koji tag -> compose short name, as the config's kojiTags has them. */
  tags: Record<string, string>;
  /** The advisory of the update build (present once tagUpdate ran). */
  advisories: string[];
  updateinfoPath: string;
  gitRepos: { pungi: string; comps: string; moduleMetadata: string };
  /** releng.config.json content pointing the pipeline at this store; also written to configPath. */
  configOverrides: Record<string, unknown>;
  configPath: string;
}

export interface PackageStoreOptions {
  root: string;
  major?: string;
}

function comps(major: string, variant: string): string {
  const group = storeLayout(major).compsGroups[variant]!;
  const pkgs = group.packages.map((p) => `      <packagereq type="default">${p}</packagereq>`).join('\n');
  const env =
    variant === 'BaseOS'
      ? `
  <environment>
    <id>demo-server-environment</id>
    <name>Demo Server</name>
    <description>A demo server.</description>
    <display_order>1</display_order>
    <grouplist>
      <groupid>core</groupid>
    </grouplist>
  </environment>`
      : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>${group.id}</id>
    <name>${group.name}</name>
    <description>${group.name} packages.</description>
    <default>true</default>
    <uservisible>true</uservisible>
    <packagelist>
${pkgs}
    </packagelist>
  </group>${env}
</comps>
`;
}

function modulesYaml(major: string, arch: string): string {
  return `---
document: modulemd
version: 2
data:
  name: demo-mod
  stream: "1"
  version: ${major}010020260101000000
  context: c0ffee42
  arch: ${arch}
  summary: Demo module
  description: >-
    A module stream with one package, so dnf has a module to list.
  license:
    module:
    - MIT
    content:
    - MIT
  dependencies:
  - buildrequires:
      platform: [el${major}]
    requires:
      platform: [el${major}]
  profiles:
    default:
      rpms:
      - demo-modlib
  api:
    rpms:
    - demo-modlib
  artifacts:
    rpms:
    - demo-modlib-0:1.0-1.el${major}.noarch
    - demo-modlib-0:1.0-1.el${major}.src
...
---
document: modulemd-defaults
version: 1
data:
  module: demo-mod
  stream: "1"
  profiles:
    "1": [default]
...
`;
}

function updateinfo(major: string, build: Pick<RpmSpec, 'name' | 'version' | 'release'>): string {
  const id = nvr(build);
  return `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="releng@rocky.invalid" status="final" type="bugfix" version="2">
    <id>${ADVISORY_ID}</id>
    <title>${build.name} bug fix update</title>
    <issued date="2026-01-15 00:00:00"/>
    <updated date="2026-01-15 00:00:00"/>
    <rights>Copyright 2026 Rocky Enterprise Software Foundation</rights>
    <release>Rocky Linux ${major}</release>
    <pushcount>1</pushcount>
    <severity>None</severity>
    <summary>${build.name} bug fix update</summary>
    <description>Fixes the greeting of ${build.name}.</description>
    <references/>
    <pkglist>
      <collection short="rocky-linux-${major}-baseos-rpms">
        <name>Rocky Linux ${major}</name>
        <package name="${build.name}" version="${build.version}" release="${build.release}" epoch="0" arch="noarch" src="${id}.src.rpm">
          <filename>${id}.noarch.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
</updates>
`;
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Rocky Demo',
  GIT_AUTHOR_EMAIL: 'releng-demo@rocky.invalid',
  GIT_COMMITTER_NAME: 'Rocky Demo',
  GIT_COMMITTER_EMAIL: 'releng-demo@rocky.invalid',
};

/** Makes a bare repo at `bare` whose branch `ref` holds `files`, with one commit. */
async function gitRepo(bare: string, ref: string, files: Record<string, string>): Promise<void> {
  await mkdir(join(bare, '..'), { recursive: true });
  const work = await mkdtemp(`${bare}.work-`);
  try {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(work, path, '..'), { recursive: true });
      await writeFile(join(work, path), content);
    }
    const git = (args: string[], cwd = work) => execFile(['git', ...args], { cwd, env: GIT_ENV });
    await git(['init', '-q', '-b', ref]);
    await git(['add', '.']);
    await git(['commit', '-q', '-m', `${basename(bare)}: demo content`]);
    await rm(bare, { recursive: true, force: true });
    await git(['clone', '-q', '--bare', work, bare]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Copies built RPMs into koji's packages/N/V/R/ARCH layout. */
async function storeRpms(koji: string, spec: Omit<RpmSpec, 'arch'>, built: BuiltRpm[]): Promise<void> {
  const paths = [...new Set(built.flatMap((b) => [...b.binaries, b.source]))];
  for (const path of paths) {
    const arch = basename(path).split('.').at(-2)!;
    const dir = join(koji, 'packages', spec.name, spec.version, spec.release, arch);
    await mkdir(dir, { recursive: true });
    await copyFile(path, join(dir, basename(path)));
  }
}

async function tagBuilds(koji: string, tag: string, builds: TaggedBuild[]): Promise<void> {
  const path = join(koji, 'tags', `${tag}.json`);
  const current = await loadKojiTag(koji, tag).catch(() => ({ name: tag, builds: [] as TaggedBuild[] }));
  const known = new Set(current.builds.map((b) => b.nvr));
  const next = { name: tag, builds: [...current.builds, ...builds.filter((b) => !known.has(b.nvr))] };
  await writeFileAtomic(path, `${JSON.stringify(next, null, 2)}\n`);
}

/** Builds, signs, stores and tags one build on all its arches. */
async function addBuild(store: PackageStore, build: StoreBuild, workDir: string): Promise<TaggedBuild> {
  const built: BuiltRpm[] = [];
  for (const arch of build.arches) built.push(await buildRpm({ ...build.spec, arch }, workDir));
  await signRpms(store.key, [...new Set(built.flatMap((b) => [...b.binaries, b.source]))]);
  await storeRpms(store.koji, build.spec, built);
  const tag = build.tag === 'updates' ? UPDATES_TAG(store.major) : EXTRAS_TAG(store.major);
  const tagged: TaggedBuild = {
    nvr: nvr(build.spec),
    name: build.spec.name,
    version: build.spec.version,
    release: build.spec.release,
  };
  await tagBuilds(store.koji, tag, [tagged]);
  return tagged;
}

/** The pungi-rocky, comps and module-metadata git repos the compose reads, on branch `r<major>`. */
async function createGitRepos(root: string, major: string): Promise<PackageStore['gitRepos']> {
  const ref = `r${major}`;
  const layout = storeLayout(major);
  const gitRepos = {
    pungi: join(root, 'git', 'pungi-rocky.git'),
    comps: join(root, 'git', 'comps.git'),
    moduleMetadata: join(root, 'git', 'rocky-module-metadata.git'),
  };
  const pungiConf = (short: string, type: string) =>
    `# pungi-rocky (demo): the local engine reads local-variants.json instead\nrelease_short = '${short}'\nrelease_version = '${major}'\nrelease_type = '${type}'\n`;
  await gitRepo(gitRepos.pungi, ref, {
    [`r${major}.conf`]: pungiConf('Rocky', 'ga'),
    [`r${major}-updates.conf`]: pungiConf('Rocky', 'updates'),
    [`r${major}-extras.conf`]: pungiConf('Extras', 'updates'),
    'local-variants.json': `${JSON.stringify({ variants: layout.variants }, null, 2)}\n`,
  });
  await gitRepo(
    gitRepos.comps,
    ref,
    Object.fromEntries(Object.keys(layout.compsGroups).map((v) => [`comps-${v}.xml`, comps(major, v)])),
  );
  await gitRepo(
    gitRepos.moduleMetadata,
    ref,
    Object.fromEntries(
      ['x86_64', 'aarch64'].map((a) => [`${a}/AppStream-modules.yaml`, modulesYaml(major, a)]),
    ),
  );
  return gitRepos;
}

/**
 * Creates the store, its git repos, its demo key and a releng.config.json pointing at them.
 * The first cycle tags demo-hello 1.0; `tagUpdate` tags 1.1 and writes its advisory.
 */
export async function createPackageStore(options: PackageStoreOptions): Promise<PackageStore> {
  const major = options.major ?? '8';
  const root = options.root;
  const koji = join(root, 'mnt', 'koji');
  const gpgHome = join(root, 'etc', 'releng', 'gnupg');
  await mkdir(join(koji, 'keys'), { recursive: true });
  const key = await generateSigningKey(gpgHome);
  const publicKeyPath = await exportPublicKey(key, join(koji, 'keys', 'RPM-GPG-KEY-rocky-demo'));
  const ref = `r${major}`;
  const layout = storeLayout(major);
  const gitRepos = await createGitRepos(root, major);
  const tags = layout.tags;
  const configOverrides = {
    majors: {
      [major]: {
        arches: ['x86_64', 'aarch64'],
        signingKeyId: key.keyId,
        kojiTags: tags,
        git: {
          pungi: { url: gitUrl(gitRepos.pungi), ref },
          comps: { url: gitUrl(gitRepos.comps), ref },
          moduleMetadata: { url: gitUrl(gitRepos.moduleMetadata), ref },
        },
        composes: layout.composes,
      },
    },
  };
  const configPath = join(root, 'releng.config.json');
  await writeFile(configPath, `${JSON.stringify(configOverrides, null, 2)}\n`);
  const store: PackageStore = {
    root,
    major,
    koji,
    key,
    publicKeyPath,
    tags,
    advisories: [],
    updateinfoPath: join(koji, 'errata', 'updateinfo.xml'),
    gitRepos,
    configOverrides,
    configPath,
  };
  const work = await rpmbuildDir();
  try {
    for (const build of initialBuilds(major)) await addBuild(store, build, work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return store;
}

/**
 * A repo path as the compose's git sources take it: plain, or a percent-encoded file:// URL when
 * the path has characters a plain path may not hold (a root such as `release work/root`).
 */
export function gitUrl(path: string): string {
  return /^\/[A-Za-z0-9._/+-]+$/.test(path) ? path : pathToFileURL(path).href;
}

/**
 * rpmbuild cannot build under a path with spaces (its spec macros expand %{buildroot} unquoted),
 * so packages are built in the system temp dir and copied into the store: a root such as
 * `release work/root` works.
 */
async function rpmbuildDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'releng-rpmbuild-'));
  if (/\s/.test(dir)) throw new Error(`rpmbuild needs a temp dir without spaces; set TMPDIR (got ${dir})`);
  return dir;
}

/** The second cycle: tags demo-hello 1.1 into the updates tag and writes its advisory. */
export async function tagUpdate(store: PackageStore): Promise<TaggedBuild> {
  const spec = { name: 'demo-hello', version: '1.1', release: `1.el${store.major}` };
  const work = await rpmbuildDir();
  try {
    const tagged = await addBuild(
      store,
      {
        tag: 'updates',
        spec: { ...spec, files: { '/usr/share/demo-hello/README': 'hello, fixed\n' } },
        arches: ['noarch'],
      },
      work,
    );
    await writeFileAtomic(store.updateinfoPath, updateinfo(store.major, spec));
    if (!store.advisories.includes(ADVISORY_ID)) store.advisories.push(ADVISORY_ID);
    return tagged;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
