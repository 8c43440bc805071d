import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { secretFilePath } from '../../host/signing/secret-source.ts';
import { buildConfig, loadConfig, mergeConfig } from '../../shared/config/load.ts';
import { releasePaths, resolveRelease } from '../../shared/release.ts';
import { runKojiIntake } from '../commands/intake.ts';
import type { EngineListener } from '../engine/adapters/types.ts';
import type { ExecutionRecord } from '../engine/execution-store.ts';
import { DEMO_APPROVER, openLocalSession } from '../engine/local-app.ts';
import { engineLockStore } from '../engine/local-functions.ts';
import { type LocalApollo, startLocalApollo } from './apollo.ts';
import { createPackageStore, type PackageStore, tagUpdate, UPDATES_TAG } from './package-store.ts';
import { exportSecretKey } from './rpm-tools.ts';

/** Marks a root the demo made, so a rerun may clear it (and never a directory it did not make). */
const MARKER = '.releng-demo';
/** The koji user the tag events come from: the requester the two-person rule compares with. */
const KOJI_USER = 'kojira';

export interface DemoOptions {
  root: string;
  /** `8.10`: the minor release to publish; default the configured stable one of major 8. */
  release?: string;
  /** Approve as the demo approver instead of waiting for `releng approve`. */
  yes: boolean;
  listener?: EngineListener;
  /** Milliseconds per local Wait state. */
  waitMs?: number;
  /** Stop the executions on Ctrl-C / SIGTERM, cleaning up (the CLI sets it). */
  stopOnInterrupt?: boolean;
}

export interface DemoResult {
  composeId: string | null;
  stagingDir: string;
  productionDir: string;
  gpgPublicKey: string;
  advisories: string[];
  executions: Array<{
    name: string;
    stateMachine: string;
    status: string;
    seconds: number;
    error?: string;
    failedState?: string;
  }>;
  /** Whether production now has the release's signed metadata (a rejection publishes nothing). */
  published: boolean;
  /** Seconds per demo step, for bench/. */
  timings: Record<string, number>;
  ok: boolean;
}

async function prepareRoot(root: string): Promise<void> {
  if (existsSync(root) && (await readdir(root)).length > 0) {
    if (!existsSync(join(root, MARKER))) {
      throw new Error(`${root} is not empty and was not made by releng demo; pick another --root`);
    }
    await rm(root, { recursive: true, force: true });
  }
  await mkdir(root, { recursive: true });
  await writeFile(join(root, MARKER), 'made by releng demo; a rerun of the demo clears this directory\n');
}

/**
 * One koji `buildsys.tag` message per build of the updates tag, as the koji queue carries them:
 * one lane (8/Rocky), so one compose feeds staging.
 */
async function kojiEvents(store: PackageStore): Promise<string> {
  const lines: string[] = [];
  for (const tag of [UPDATES_TAG(store.major)]) {
    const data = JSON.parse(await readFile(join(store.koji, 'tags', `${tag}.json`), 'utf8')) as {
      builds: Array<{ name: string; version: string; release: string; nvr: string }>;
    };
    for (const b of data.builds) {
      const build = { name: b.name, version: b.version, release: b.release, nvr: b.nvr };
      lines.push(
        JSON.stringify({
          topic: 'buildsys.tag',
          body: { tag: { name: tag }, build, user: { name: KOJI_USER } },
        }),
      );
    }
  }
  const file = join(store.root, 'koji-events.jsonl');
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** The ID of the compose the `latest-` link of a compose root points at. */
async function latestComposeId(composeRoot: string, compose: string, major: string): Promise<string | null> {
  const id = join(composeRoot, `latest-${compose}-${major}`, 'COMPOSE_ID');
  return existsSync(id) ? (await readFile(id, 'utf8')).trim() : null;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

/**
 * One updates cycle on the embedded engine: a package store of real signed RPMs (with comps, a
 * module stream and an advisory), koji tag events through intake, then compose → staging →
 * approval → production → file lists, each run by the CDK-defined state machines.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const root = resolve(options.root);
  const timings: Record<string, number> = {};
  const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    options.listener?.({ execution: 'demo', kind: 'phase', message: `${step}…` });
    const start = Date.now();
    try {
      return await fn();
    } finally {
      timings[step] = seconds(Date.now() - start);
    }
  };
  const major = options.release ? options.release.split('.')[0]! : '8';
  await prepareRoot(root);

  const store = await timed('package store', async () => {
    const created = await createPackageStore({ root, major });
    await tagUpdate(created);
    return created;
  });
  // The store's overrides and the minor release asked for; serveDemoErrata adds its Apollo.
  const asked = options.release
    ? mergeConfig(store.configOverrides, {
        majors: { [major]: { channels: { stable: { revision: options.release } } } },
      })
    : store.configOverrides;
  const overrides = withDemoKeyEverywhere(store, asked);
  await writeFile(store.configPath, `${JSON.stringify(overrides, null, 2)}\n`);
  // The install path's install-signing-key imports the key from the file standing for the secret.
  await exportSecretKey(store.key, secretFilePath(root, buildConfig(overrides).aws.signingKeySecret));
  const apollo = await serveDemoErrata(root);
  try {
    return await runCycle(options, store, timed, timings);
  } finally {
    await apollo.close();
  }
}

/**
 * install-signing-key imports only a key whose id is every configured major's signingKeyId, so
 * the demo names its key for each major, not only the one it runs.
 */
function withDemoKeyEverywhere(store: PackageStore, overrides: unknown): unknown {
  const majors = Object.keys(buildConfig(overrides).majors);
  return mergeConfig(overrides, {
    majors: Object.fromEntries(majors.map((m) => [m, { signingKeyId: store.key.keyId }])),
  });
}

/**
 * Serves the demo store's advisories from a local Apollo and points the root's config at it.
 * It lives as long as the caller keeps it open: the demo while it runs; tests and engineers who
 * run staging again on a demo root start it again.
 */
export async function serveDemoErrata(root: string): Promise<LocalApollo> {
  const configPath = join(root, 'releng.config.json');
  const apollo = await startLocalApollo(join(root, 'mnt', 'koji', 'errata', 'updateinfo.xml'));
  const current = JSON.parse(await readFile(configPath, 'utf8')) as unknown;
  const updated = mergeConfig(current, { errata: { apolloBaseUrl: apollo.baseUrl } });
  await writeFile(configPath, `${JSON.stringify(updated, null, 2)}\n`);
  return apollo;
}

/** From the written config to the finished executions: the part the engine runs. */
async function runCycle(
  options: DemoOptions,
  store: PackageStore,
  timed: <T>(step: string, fn: () => Promise<T>) => Promise<T>,
  timings: Record<string, number>,
): Promise<DemoResult> {
  const { root, major } = store;
  const config = loadConfig(store.configPath);
  const release = resolveRelease(config, {
    major,
    ...(options.release ? { revision: options.release } : {}),
  });
  const paths = releasePaths(config, root, release);

  const session = await timed('synthesize CDK app', () =>
    openLocalSession({
      root,
      configFile: store.configPath,
      ...(options.listener ? { listener: options.listener } : {}),
      ...(options.yes ? { autoApproveAs: DEMO_APPROVER } : {}),
      ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
      ...(options.stopOnInterrupt ? { stopOnInterrupt: true } : {}),
    }),
  );
  const report = await timed('koji intake', async () =>
    runKojiIntake({
      file: await kojiEvents(store),
      root,
      dryRun: false,
      config,
      starter: session.engine,
      locks: engineLockStore(session.engine, session.adapters.locks),
    }),
  );
  if (report.rejected.length) {
    throw new Error(
      `intake rejected the demo's koji events: ${report.rejected.map((r) => r.reason).join('; ')}`,
    );
  }
  await timed('pipeline', () => session.engine.idle());

  const records: ExecutionRecord[] = (await session.engine.store.list()).reverse();
  for (const r of records) {
    timings[`${r.stateMachine} ${r.name}`] = seconds(
      Date.parse(r.stopDate ?? r.startDate) - Date.parse(r.startDate),
    );
  }
  const machines = new Set(records.filter((r) => r.status === 'SUCCEEDED').map((r) => r.stateMachine));
  const published = existsSync(
    join(paths.productionRelease, 'BaseOS', 'x86_64', 'os', 'repodata', 'repomd.xml.asc'),
  );
  const ok =
    published &&
    records.length > 0 &&
    records.every((r) => r.status === 'SUCCEEDED') &&
    ['compose', 'staging', 'promotion'].every((m) => machines.has(m as ExecutionRecord['stateMachine']));
  return {
    composeId: await latestComposeId(paths.composeRoot, 'Rocky', major),
    stagingDir: paths.stagingRelease,
    productionDir: paths.productionRelease,
    gpgPublicKey: store.publicKeyPath,
    advisories: store.advisories,
    executions: records.map((r) => ({
      name: r.name,
      stateMachine: r.stateMachine,
      status: r.status,
      seconds: seconds(Date.parse(r.stopDate ?? r.startDate) - Date.parse(r.startDate)),
      ...(r.error ? { error: `${r.error}: ${r.cause ?? ''}` } : {}),
      ...(r.failedState ? { failedState: r.failedState } : {}),
    })),
    published,
    timings,
    ok,
  };
}
