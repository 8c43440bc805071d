import { existsSync } from 'node:fs';
import { readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TORRENT_ROOT } from '../../host/operations/torrents.ts';
import { buildConfig, mergeConfig } from '../../shared/config/load.ts';
import { ComposeRequestV1 } from '../../shared/messages/compose-request.ts';
import type { ExecutionRecord } from '../engine/execution-store.ts';
import {
  type DemoOptions,
  type DemoResult,
  executionSeconds,
  executionSummary,
  openDemoSession,
} from './demo.ts';
import type { PackageStore } from './package-store.ts';

/** Who asks for the GA in the demo: not the demo approver, so the two-person rule holds. */
const GA_REQUESTER = 'release-manager';

/**
 * The demo store's Rocky compose gains the ISO-only Minimal variant, as pungi-rocky's produce
 * config has it, so GA day makes the minimal image too.
 */
async function withMinimalVariant(configPath: string, major: string): Promise<void> {
  const current = JSON.parse(await readFile(configPath, 'utf8')) as unknown;
  const variants = buildConfig(current).majors[major]!.composes.Rocky!.variants;
  if (variants.includes('Minimal')) return;
  const updated = mergeConfig(current, {
    majors: { [major]: { composes: { Rocky: { variants: [...variants, 'Minimal'] } } } },
  });
  await writeFile(configPath, `${JSON.stringify(updated, null, 2)}\n`);
}

/** The ISO images (not their links) under a release's `isos/<arch>/`. */
async function isoFiles(releaseDir: string): Promise<string[]> {
  const found: string[] = [];
  const isos = join(releaseDir, 'isos');
  for (const arch of (await readdir(isos).catch(() => [] as string[])).sort()) {
    for (const entry of (await readdir(join(isos, arch), { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    ))
      if (entry.isFile() && entry.name.endsWith('.iso')) found.push(join(isos, arch, entry.name));
  }
  return found;
}

/** The torrent files the torrents step left for rtorrent's watch dir. */
async function torrentFiles(root: string): Promise<string[]> {
  const watch = join(root, TORRENT_ROOT, 'watch', 'start');
  const found: string[] = [];
  for (const set of (await readdir(watch).catch(() => [] as string[])).sort())
    for (const name of await readdir(join(watch, set)))
      if (name.endsWith('.torrent')) found.push(join(watch, set, name));
  return found;
}

/**
 * GA day on the embedded engine: the minor-release machine for `--release`, from the produce
 * compose (the local engine's small real ISOs) through minor-release, torrents, verify, the
 * promotion's approval and publish, to the major link, the bitflip's approval (both approved
 * by `--yes`), the bitflip and the vault step.
 */
export async function runGaCycle(
  options: DemoOptions,
  store: PackageStore,
  timed: <T>(step: string, fn: () => Promise<T>) => Promise<T>,
  timings: Record<string, number>,
): Promise<DemoResult> {
  const { root, major } = store;
  await withMinimalVariant(store.configPath, major);
  const { release, paths, session } = await openDemoSession(options, store, timed);
  const name = `ga-${release.revision.replace('.', '-')}`;
  const input = ComposeRequestV1.parse({
    version: 1,
    major,
    revision: release.revision,
    composes: [{ name: 'Rocky', kind: 'produce' }],
    requestedBy: GA_REQUESTER,
    reason: `Rocky Linux ${release.revision} GA (releng demo --ga)`,
    requestId: name,
  });
  await timed('GA pipeline', async () => {
    await session.engine.start('minor-release', name, input);
    await session.engine.idle();
  });

  const records: ExecutionRecord[] = (await session.engine.store.list()).reverse();
  for (const r of records) timings[`${r.stateMachine} ${r.name}`] = executionSeconds(r);
  const production = paths.productionRelease;
  const published = existsSync(join(production, 'BaseOS', 'x86_64', 'os', 'repodata', 'repomd.xml.asc'));
  const majorLink = await readlink(join(paths.productionCategory, major)).catch(() => null);
  const open = published && ((await stat(production)).mode & 0o777) === 0o755;
  const ok =
    published &&
    open &&
    majorLink === release.productionDirName &&
    records.length > 0 &&
    records.every((r) => r.status === 'SUCCEEDED');
  const composeIdFile = join(paths.composeRoot, `latest-Rocky-${major}`, 'COMPOSE_ID');
  return {
    composeId: existsSync(composeIdFile) ? (await readFile(composeIdFile, 'utf8')).trim() : null,
    stagingDir: paths.stagingRelease,
    productionDir: production,
    gpgPublicKey: store.publicKeyPath,
    advisories: [],
    // The GA cycle publishes the main release only; SIG releases follow the updates cycle.
    sigProductionDirs: [],
    executions: records.map(executionSummary),
    published,
    timings,
    ok,
    isos: await isoFiles(published ? production : paths.stagingRelease),
    torrents: await torrentFiles(root),
    majorLink,
    releaseOpen: open,
  };
}
