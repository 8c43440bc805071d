import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../../host/framework/fsutil.ts';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { type CfnTemplate, definitionsFromTemplate, type EngineDefinitions } from './definitions.ts';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));
/** The sources a synthesized template depends on. */
const SOURCE_DIRS = ['cdk', 'shared', 'functions'];
const CACHE_DIR = join(PROJECT, 'node_modules', '.cache', 'releng-engine');

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
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** A digest of the config and every source file the template is built from. */
async function cacheKey(config: ReleaseConfig): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify(config));
  for (const dir of SOURCE_DIRS) {
    for (const file of await sourceFiles(join(PROJECT, dir))) hash.update(file).update(await readFile(file));
  }
  return hash.digest('hex').slice(0, 32);
}

/**
 * The state machines the engine runs: read out of the synthesized CDK app, so what runs
 * locally is what deploys. The definitions are cached by a digest of the config and the
 * sources, so a changed construct or config is synthesized afresh and an unchanged one is not.
 */
export async function localDefinitions(config: ReleaseConfig): Promise<EngineDefinitions> {
  const file = join(CACHE_DIR, `definitions-${await cacheKey(config)}.json`);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as EngineDefinitions;
  } catch {
    const definitions = definitionsFromTemplate(await synthesizeTemplate(config));
    await writeFileAtomic(file, JSON.stringify(definitions)).catch(() => undefined);
    return definitions;
  }
}
