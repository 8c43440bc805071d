import { join } from 'node:path';
import type { Channel, MajorSettings, ReleaseConfig } from './config/schema.ts';

/** One release line of one major on one channel, with every derived value computed. */
export interface Release {
  /** `8` */
  major: string;
  /** `10` for 8.10: a number, so 8.10 never collapses to 8.1. */
  minor: number;
  channel: Channel;
  /** `8.10` */
  revision: string;
  /** `-RC1` */
  dirSuffix: string;
  /** `-BETA` for the compose root `8-BETA`; empty for stable. */
  composeSuffix: string;
  /** Staging release dir: `8.10-RC1`. */
  stagingDirName: string;
  /** Production release dir: `8.10`. */
  productionDirName: string;
  publishable: boolean;
  settings: MajorSettings;
  /** Set for a SIG release: the tree `pub/sig/<major>/<sig>` instead of the release tree. */
  sig?: string;
}

export class ReleaseError extends Error {
  override readonly name = 'ReleaseError';
}

export interface ReleaseSelector {
  major?: string;
  channel?: Channel;
  /** Overrides the configured revision of the channel, e.g. `--release 8.10`. */
  revision?: string;
}

export function parseRevision(revision: string): { major: string; minor: number } {
  const match = /^([0-9]{1,3})\.([0-9]{1,3})$/.exec(revision);
  if (!match) throw new ReleaseError(`revision ${JSON.stringify(revision)} is not MAJOR.MINOR (e.g. 8.10)`);
  return { major: String(Number(match[1])), minor: Number(match[2]) };
}

export function resolveRelease(config: ReleaseConfig, selector: ReleaseSelector = {}): Release {
  const major =
    selector.major ?? (selector.revision ? parseRevision(selector.revision).major : config.defaultMajor);
  const settings = config.majors[major];
  if (!settings) {
    throw new ReleaseError(
      `major ${JSON.stringify(major)} is not configured (have ${Object.keys(config.majors).join(', ')})`,
    );
  }
  const channel = selector.channel ?? 'stable';
  const ch = settings.channels[channel];
  if (!ch) throw new ReleaseError(`channel ${JSON.stringify(channel)} is not one of stable, beta, lh`);
  const revision = selector.revision ?? ch.revision;
  const parsed = parseRevision(revision);
  if (parsed.major !== major) {
    throw new ReleaseError(`revision ${JSON.stringify(revision)} does not belong to major ${major}`);
  }
  return {
    major,
    minor: parsed.minor,
    channel,
    revision: `${parsed.major}.${parsed.minor}`,
    dirSuffix: ch.dirSuffix,
    composeSuffix: ch.composeSuffix,
    stagingDirName: `${parsed.major}.${parsed.minor}${ch.dirSuffix}`,
    productionDirName: `${parsed.major}.${parsed.minor}`,
    publishable: ch.publishable,
    settings,
  };
}

/** Every repo of a release tree, in the config's order: with comps first, then without. */
export function allRepos(settings: MajorSettings): string[] {
  return [...settings.reposWithComps, ...settings.reposWithoutComps];
}

/** The absolute places a release lives under one root (`/` on a compose host). */
export interface ReleasePaths {
  root: string;
  koji: string;
  compose: string;
  staging: string;
  production: string;
  /** `/mnt/compose/8-BETA` */
  composeRoot: string;
  /** `/mnt/compose/8_metadata`: the module metadata checkout. */
  moduleMetadata: string;
  stagingCategory: string;
  stagingRelease: string;
  /** `…/rocky/latest-8` in staging. */
  stagingLatestLink: string;
  stagingSig: string;
  productionCategory: string;
  productionRelease: string;
  /** `mirror/pub` in production: the second file-list tree. */
  productionPub: string;
  productionSig: string;
}

export function releasePaths(config: ReleaseConfig, root: string, release: Release): ReleasePaths {
  const koji = join(root, config.mounts.koji);
  const compose = join(root, config.mounts.compose);
  const staging = join(root, config.mounts.staging);
  const production = join(root, config.mounts.production);
  const stagingCategory = join(staging, config.categoryStub);
  const productionCategory = join(production, config.categoryStub);
  return {
    root,
    koji,
    compose,
    staging,
    production,
    composeRoot: join(compose, `${release.major}${release.composeSuffix}`),
    moduleMetadata: join(compose, `${release.major}_metadata`),
    stagingCategory,
    stagingRelease: join(stagingCategory, release.stagingDirName),
    stagingLatestLink: join(stagingCategory, `latest-${release.major}`),
    stagingSig: join(staging, config.sigCategoryStub),
    productionCategory,
    productionRelease: join(productionCategory, release.productionDirName),
    productionPub: join(production, config.categoryStub, '..'),
    productionSig: join(production, config.sigCategoryStub),
  };
}

/** Pungi's `latest-<short>-<major>` link name; SIG composes use `latest-SIG-<sig>-<major>`. */
export function latestLinkName(composeShort: string, major: string): string {
  return `latest-${composeShort}-${major}`;
}

export function sigLatestLinkName(sig: string, major: string): string {
  return `latest-SIG-${sig}-${major}`;
}

/**
 * A SIG release: the SIG's tree `<sig category>/<major>/<sig>` in staging and production, with
 * `sig-<major>-<sig>` naming its manifest, verified record, caches and rollback records (never
 * a release dir name, so the two cannot collide). SIG trees have no channels: stable only.
 */
export function sigRelease(
  release: Release,
  paths: ReleasePaths,
  sig: string,
): { release: Release; paths: ReleasePaths } {
  const sigs = release.settings.sigComposes;
  if (!Object.hasOwn(sigs, sig))
    throw new ReleaseError(
      `SIG ${JSON.stringify(sig)} is not one of ${Object.keys(sigs).join(', ') || '(none configured)'} for major ${release.major}`,
    );
  if (release.channel !== 'stable')
    throw new ReleaseError(`SIG ${sig} is published from the stable channel only, not ${release.channel}`);
  const name = sigRecordName(release.major, sig);
  return {
    release: { ...release, sig, stagingDirName: name, productionDirName: name },
    paths: {
      ...paths,
      stagingRelease: join(paths.stagingSig, release.major, sig),
      productionRelease: join(paths.productionSig, release.major, sig),
    },
  };
}

/** `sig-8-kernel`: the bookkeeping name of a SIG release. */
export function sigRecordName(major: string, sig: string): string {
  return `sig-${major}-${sig}`;
}
