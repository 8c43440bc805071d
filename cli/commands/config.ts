import { existsSync } from 'node:fs';
import { CONFIG_FILE, ConfigError, loadConfig } from '../../shared/config/load.ts';
import { CHANNELS } from '../../shared/config/schema.ts';
import { releasePaths, resolveRelease } from '../../shared/release.ts';
import { parse, UsageError } from '../args.ts';
import { sessionConfigFile } from '../engine/local-app.ts';
import type { Output } from '../output.ts';
import { requireExistingRoot } from './inputs.ts';

/** `releng config show|check`: what the pipeline will use, and whether a file is valid. */
export async function configCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    major: { type: 'string' },
    json: { type: 'boolean', default: false },
    config: { type: 'string' },
    root: { type: 'string' },
  });
  const [action, named] = positionals;
  if (action === 'check') return checkConfigFile(named, values.json, out);
  if (action !== 'show') throw new UsageError(`config ${action ?? ''}: expected "show" or "check [FILE]"`);

  // With --root: the config the pipeline in that root runs with (its releng.config.json, or --config).
  const root = values.root === undefined ? undefined : requireExistingRoot(values.root);
  const configFile = root ? sessionConfigFile(root, values.config) : values.config;
  const config = loadConfig(configFile, root ? {} : process.env);
  const source =
    configFile ??
    (root ? 'defaults' : (process.env.RELENG_CONFIG ?? (existsSync(CONFIG_FILE) ? CONFIG_FILE : 'defaults')));
  const majors = values.major ? [values.major] : Object.keys(config.majors);
  const shown = majors.map((major) => {
    if (!config.majors[major]) {
      throw new UsageError(
        `--major ${major}: not configured (have ${Object.keys(config.majors).join(', ')})`,
      );
    }
    const channels = CHANNELS.map((channel) => {
      const release = resolveRelease(config, { major, channel });
      const paths = releasePaths(config, root ?? '/', release);
      return {
        channel,
        revision: release.revision,
        minor: release.minor,
        stagingDir: release.stagingDirName,
        productionDir: release.publishable ? release.productionDirName : null,
        composeRoot: paths.composeRoot,
        staging: paths.stagingRelease,
        production: release.publishable ? paths.productionRelease : null,
      };
    });
    return { major, settings: config.majors[major], channels };
  });
  if (values.json) {
    out.json({ config: source, stage: config.stage, majors: shown });
    return 0;
  }
  out.line(`config: ${source}${root ? ` (the pipeline in ${root} runs with it)` : ''}`);
  for (const { major, settings, channels } of shown) {
    out.line(`Rocky Linux ${major}  arches: ${settings!.arches.join(' ')}`);
    out.line(`  composes: ${settings!.stagingOrder.join(' -> ')}`);
    out.line(`  repos with comps: ${settings!.reposWithComps.join(' ')}`);
    out.line(`  repos without comps: ${settings!.reposWithoutComps.join(' ')}`);
    out.line(`  module repos: ${settings!.moduleRepos.join(' ')}`);
    for (const c of channels) {
      out.line(`  ${c.channel.padEnd(6)} ${c.revision.padEnd(5)} staging ${c.staging}`);
      out.line(`  ${''.padEnd(12)} production ${c.production ?? '(not publishable)'}`);
      out.line(`  ${''.padEnd(12)} composes ${c.composeRoot}`);
    }
  }
  return 0;
}

/** `releng config check [FILE]`: 0 when the file is valid, 1 (with every problem) when not. */
function checkConfigFile(named: string | undefined, json: boolean, out: Output): number {
  const file = named ?? CONFIG_FILE;
  if (!existsSync(file)) {
    throw new UsageError(
      `config check: ${file} does not exist${named ? '' : ' in this directory; name the file: releng config check FILE'}`,
    );
  }
  try {
    const config = loadConfig(file);
    if (json) out.json({ file, valid: true, majors: Object.keys(config.majors) });
    else out.line(`${file}: valid (majors ${Object.keys(config.majors).join(', ')})`);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (json) out.json({ file, valid: false, problems: err.problems });
    else out.error(err.message);
    return 1;
  }
}
