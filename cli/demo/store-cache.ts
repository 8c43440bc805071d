import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopAgent } from '../../host/signing/keys.ts';
import { buildConfig } from '../../shared/config/load.ts';
import type { EngineListener } from '../engine/adapters/types.ts';
import { createPackageStore, gitUrl, type PackageStore, tagUpdate } from './package-store.ts';
import { createSigCompose, DEMO_SIG } from './sig-compose.ts';

/** Sources whose content decides what a store holds: the demo's own and the koji tag format. */
const STORE_SOURCES = [
  fileURLToPath(new URL('./', import.meta.url)),
  fileURLToPath(new URL('../../host/compose/package-store.ts', import.meta.url)),
];
/** Bumped when the template's own layout changes (not its content: the sources key that). */
const TEMPLATE_FORMAT = 1;

/**
 * Which store: as createPackageStore leaves it, or the demo's (after tagUpdate, with the demo
 * SIG's finished compose where the major configures that SIG).
 */
export type StoreStage = 'initial' | 'demo';

export interface CachedStoreOptions {
  major?: string;
  stage?: StoreStage;
  /** Where templates live; default userCacheDir(). */
  cacheDir?: string;
}

export interface CachedStore {
  store: PackageStore;
  /** The template copied, or undefined when the store was built in place (no usable cache). */
  template?: string;
  /** Whether this call built the template (false: an earlier run had). */
  built: boolean;
}

/** `$XDG_CACHE_HOME/releng`, else `~/.cache/releng`: per user, never inside a checkout. */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'releng');
}

async function filesUnder(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true, recursive: true }).catch(() => undefined);
  if (!entries) return [path];
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** A digest of the store's sources, major and stage: a changed source builds a new template. */
export async function storeKey(major: string, stage: StoreStage): Promise<string> {
  const hash = createHash('sha256').update(`format ${TEMPLATE_FORMAT}\0major ${major}\0stage ${stage}\0`);
  for (const source of STORE_SOURCES) {
    for (const file of await filesUnder(source)) {
      hash.update(`${file.slice(source.length)}\0`).update(await readFile(file));
    }
  }
  return hash.digest('hex').slice(0, 24);
}

/** Every regular file under `dir` holding `from`, rewritten to hold `to` instead. */
async function rewritePaths(dir: string, from: string, to: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    const content = await readFile(file);
    if (!content.includes(from)) continue;
    await writeFile(file, content.toString('utf8').replaceAll(from, to));
  }
}

/**
 * The store's config with its git URLs made for this root: a root whose path a plain path may
 * not hold (`release work/root`) needs file:// URLs, which a text rewrite does not make.
 */
function withGitUrlsOf(store: PackageStore): Record<string, unknown> {
  const overrides = store.configOverrides as {
    majors: Record<string, { git: Record<string, { url: string }> }>;
  };
  const git = overrides.majors[store.major]!.git;
  git.pungi!.url = gitUrl(store.gitRepos.pungi);
  git.comps!.url = gitUrl(store.gitRepos.comps);
  git.moduleMetadata!.url = gitUrl(store.gitRepos.moduleMetadata);
  return store.configOverrides;
}

/** What the demo adds to a new store before its pipeline runs. */
async function prepareDemo(store: PackageStore): Promise<void> {
  await tagUpdate(store);
  if (Object.hasOwn(buildConfig(store.configOverrides).majors[store.major]?.sigComposes ?? {}, DEMO_SIG))
    await createSigCompose(store, DEMO_SIG);
}

async function buildTemplate(template: string, major: string, stage: StoreStage): Promise<void> {
  const building = `${template}.building-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  const root = join(building, 'root');
  try {
    const store = await createPackageStore({ root, major });
    if (stage === 'demo') await prepareDemo(store);
    await writeFile(join(building, 'store.json'), JSON.stringify(store));
  } finally {
    // The template's key must not keep an agent alive (nor one socket to copy).
    await stopAgent(join(root, 'etc', 'releng', 'gnupg'));
  }
  // Another process may have finished first: its template is as good as this one.
  await rename(building, template).catch(() => rm(building, { recursive: true, force: true }));
}

/**
 * The demo package store (signing key, RPMs built and signed, git repos, config) at `root`, as
 * createPackageStore (and, for `demo`, what the demo adds) makes it, but built once per version of the
 * sources and copied: the build (an RSA key, a dozen rpmbuilds and signatures) costs seconds.
 * Every copy shares the template's throwaway demo key. A cache that cannot be written (no home,
 * a read-only one) builds the store in place instead.
 */
export async function cachedPackageStore(
  root: string,
  options: CachedStoreOptions = {},
): Promise<CachedStore> {
  const major = options.major ?? '8';
  const stage = options.stage ?? 'initial';
  const cacheDir = options.cacheDir ?? userCacheDir();
  const template = join(cacheDir, `demo-store-${major}-${stage}-${await storeKey(major, stage)}`);
  let built = false;
  let stored = await readFile(join(template, 'store.json'), 'utf8').catch(() => undefined);
  if (!stored) {
    const writable = await mkdir(cacheDir, { recursive: true, mode: 0o700 })
      .then(() => access(cacheDir, constants.W_OK))
      .then(
        () => true,
        () => false,
      );
    if (!writable) {
      const store = await createPackageStore({ root, major });
      if (stage === 'demo') await prepareDemo(store);
      return { store, built: false };
    }
    await buildTemplate(template, major, stage);
    stored = await readFile(join(template, 'store.json'), 'utf8');
    built = true;
  }
  const fromTemplate = JSON.parse(stored) as PackageStore;
  await mkdir(root, { recursive: true });
  await cp(join(template, 'root'), root, {
    recursive: true,
    preserveTimestamps: true,
    // `latest-…` links are relative and must stay so, not point back into the template.
    verbatimSymlinks: true,
    // gpg-agent's sockets belong to an agent of the template, not to the copy.
    filter: (source) => !/\/S\.[^/]*$/.test(source),
  });
  await chmod(join(root, 'etc', 'releng', 'gnupg'), 0o700);
  await rewritePaths(root, fromTemplate.root, root);
  const store = JSON.parse(
    stored.replaceAll(JSON.stringify(fromTemplate.root).slice(1, -1), JSON.stringify(root).slice(1, -1)),
  ) as PackageStore;
  await writeFile(store.configPath, `${JSON.stringify(withGitUrlsOf(store), null, 2)}\n`);
  return { store, template, built };
}

/** The demo's store (its update tagged), copied from the user's cache; says which template it used. */
export async function demoPackageStore(
  root: string,
  major: string,
  listener?: EngineListener,
): Promise<PackageStore> {
  const { store, template, built } = await cachedPackageStore(root, { major, stage: 'demo' });
  if (template) {
    listener?.({
      execution: 'demo',
      kind: 'phase',
      message: `package store: ${built ? 'built into' : 'reused'} ${template} (one per version of the demo's sources)`,
    });
  }
  return store;
}
