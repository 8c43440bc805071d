import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../../host/framework/fsutil.ts';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { checkDefinitions, trustChecked } from './asl-validation.ts';
import { type ConfigRead, recordReads, sameReads } from './config-reads.ts';
import { type CfnTemplate, definitionsFromTemplate, type EngineDefinitions } from './definitions.ts';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));
/** What a synthesized template depends on besides the config: our sources and the locked packages. */
const SOURCE_DIRS = ['cdk', 'shared', 'functions', 'host'];
const SOURCE_FILES = ['package-lock.json'];
/** Definitions kept per source state: one per distinct set of config values synthesis read. */
const ENTRIES_KEPT = 8;

export interface SynthCacheOptions {
  /** The checkout whose sources key the cache. @default this one */
  project?: string;
  /** @default node_modules/.cache/releng-engine of the project */
  cacheDir?: string;
  /** @default synthesizeTemplate */
  synthesize?: (config: ReleaseConfig) => Promise<CfnTemplate>;
}

/** The synthesized template of the app `cdk deploy` deploys, for this config, without bundling. */
export async function synthesizeTemplate(config: ReleaseConfig): Promise<CfnTemplate> {
  // Imported here: loading aws-cdk-lib takes seconds, and a cached template needs none of it.
  const [{ Template }, { buildRelengApp }] = await Promise.all([
    import('aws-cdk-lib/assertions'),
    import('../../cdk/build.ts'),
  ]);
  // NodejsFunction looks for the lock file from the working directory up, even with bundling
  // off; `releng` may run anywhere, so synthesize from the project (synchronously, then back).
  const cwd = process.cwd();
  process.chdir(PROJECT);
  try {
    const { stack } = buildRelengApp({ config, bundling: false, nag: false });
    return Template.fromStack(stack).toJSON() as CfnTemplate;
  } finally {
    process.chdir(cwd);
  }
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** A digest of every source file the template is built from (names relative to the project). */
async function sourcesKey(project: string): Promise<string> {
  const hash = createHash('sha256');
  const files = [
    ...(await Promise.all(SOURCE_DIRS.map((dir) => sourceFiles(join(project, dir))))).flat(),
    ...SOURCE_FILES.map((file) => join(project, file)),
  ];
  const contents = await Promise.all(files.map((file) => readFile(file).catch(() => Buffer.alloc(0))));
  files.forEach((file, i) => {
    hash.update(`${relative(project, file)}\0${contents[i]!.length}\0`).update(contents[i]!);
  });
  return hash.digest('hex').slice(0, 32);
}

interface CacheEntry {
  /** The config values synthesis read, with what it saw. */
  reads: ConfigRead[];
  definitions: EngineDefinitions;
  /** asl-validator passed these definitions before they were written (asl-validation.ts). */
  checked?: boolean;
}

/**
 * The state machines the engine runs: read out of the synthesized CDK app, so what runs
 * locally is what deploys. They are cached by a digest of the sources and by the config values
 * synthesis read: a changed construct or a changed value it reads is synthesized afresh; a
 * config that differs elsewhere (a new signing key id, another Apollo port) is not.
 */
export async function localDefinitions(
  config: ReleaseConfig,
  options: SynthCacheOptions = {},
): Promise<EngineDefinitions> {
  const project = options.project ?? PROJECT;
  const cacheDir = options.cacheDir ?? join(project, 'node_modules', '.cache', 'releng-engine');
  const file = join(cacheDir, `definitions-${await sourcesKey(project)}.json`);
  const cached = await readFile(file, 'utf8')
    .then((text) => JSON.parse(text) as { entries?: unknown })
    .then((parsed) => ({ entries: Array.isArray(parsed.entries) ? (parsed.entries as CacheEntry[]) : [] }))
    .catch(() => ({ entries: [] as CacheEntry[] }));
  const hit = cached.entries.find((entry) => sameReads(config, entry.reads));
  if (hit) {
    if (hit.checked) trustChecked(hit.definitions);
    else checkDefinitions(hit.definitions);
    return hit.definitions;
  }
  const { view, reads } = recordReads(config);
  const definitions = definitionsFromTemplate(await (options.synthesize ?? synthesizeTemplate)(view));
  checkDefinitions(definitions);
  const entries = [{ reads: reads(), definitions, checked: true }, ...cached.entries].slice(0, ENTRIES_KEPT);
  await writeFileAtomic(file, JSON.stringify({ entries })).catch(() => undefined);
  return definitions;
}
