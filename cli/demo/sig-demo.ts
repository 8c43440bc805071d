import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfig, mergeConfig } from '../../shared/config/load.ts';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { releasePaths, resolveRelease, sigLatestLinkName, sigRelease } from '../../shared/release.ts';
import type { PackageStore } from './package-store.ts';
import { createSigCompose, DEMO_SIG } from './sig-compose.ts';

/**
 * The demo's SIG release: one finished SIG compose, staged with the Rocky compose
 * (`sigsStagedWith`), and a coalescing window long enough locally that its staging-ready and
 * the release's join one promotion: 1 s, as both are announced by one staging execution, one
 * state after the other. A major without the SIG configured gets none.
 */
export async function withDemoSig(store: PackageStore, overrides: unknown): Promise<unknown> {
  const settings = buildConfig(overrides).majors[store.major];
  if (!settings || !Object.hasOwn(settings.sigComposes, DEMO_SIG)) return overrides;
  // The demo's cached store comes with it (store-cache.ts).
  const composed = join(store.root, 'mnt', 'compose', store.major, sigLatestLinkName(DEMO_SIG, store.major));
  if (!existsSync(composed)) await createSigCompose(store, DEMO_SIG);
  return mergeConfig(overrides, {
    promotion: { coalesceSeconds: 1 },
    majors: { [store.major]: { sigsStagedWith: { Rocky: [DEMO_SIG] } } },
  });
}

/** The SIGs the demo stages with its composes. */
export function demoSigs(config: ReleaseConfig, major: string): string[] {
  return [...new Set(Object.values(config.majors[major]?.sigsStagedWith ?? {}).flat())].sort();
}

/** The production trees of the demo's SIG releases that now hold signed metadata. */
export function sigProductionDirs(config: ReleaseConfig, root: string, major: string): string[] {
  const release = resolveRelease(config, { major });
  const paths = releasePaths(config, root, release);
  return demoSigs(config, major)
    .map((sig) => sigRelease(release, paths, sig).paths.productionRelease)
    .filter((dir) => existsSync(join(dir, 'x86_64', 'os', 'repodata', 'repomd.xml.asc')));
}
