import { constants, existsSync } from 'node:fs';
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stopAgent } from '../../host/signing/keys.ts';
import { secretFilePath } from '../../host/signing/secret-source.ts';
import { buildConfig, loadConfig, mergeConfig } from '../../shared/config/load.ts';
import { errnoCode, errorMessage, isErrno } from '../../shared/errors.ts';
import { releasePaths, resolveRelease } from '../../shared/release.ts';
import { runKojiIntake } from '../commands/intake.ts';
import { type ApprovalDecision, outcomeOf } from '../commands/outcome.ts';
import type { EngineListener } from '../engine/adapters/types.ts';
import type { ExecutionRecord } from '../engine/execution-store.ts';
import { alive } from '../engine/file-mutex.ts';
import { DEMO_APPROVER, openLocalSession } from '../engine/local-app.ts';
import { APOLLO_SERVER, MARKER, serveDemoErrata } from './demo-errata.ts';
import { runGaCycle } from './ga.ts';
import { type PackageStore, UPDATES_TAG } from './package-store.ts';
import { exportSecretKey } from './rpm-tools.ts';
import { demoSigs, sigProductionDirs, withDemoSig } from './sig-demo.ts';
import { demoPackageStore } from './store-cache.ts';

export { serveDemoErrata, serveDemoErrataAgain } from './demo-errata.ts';

/** One demo per root at a time: the pid of the demo running there (stale once that pid is dead). */
const DEMO_LOCK = '.releng-demo.lock';

/** The demo will not run on this root as asked (bad input: exit 2, nothing started). */
export class DemoRefused extends Error {
  override readonly name = 'DemoRefused';
}
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
  /** Delete a pipeline a previous demo left on the root (refused without it). */
  force?: boolean;
  /** GA day instead of an updates cycle: the minor-release machine (ga.ts). */
  ga?: boolean;
}

export interface DemoResult {
  composeId: string | null;
  stagingDir: string;
  productionDir: string;
  /** The SIG release trees the demo published (`…/pub/sig/<major>/<sig>`). */
  sigProductionDirs: string[];
  gpgPublicKey: string;
  advisories: string[];
  executions: Array<{
    name: string;
    stateMachine: string;
    status: string;
    seconds: number;
    error?: string;
    failedState?: string;
    /** REJECTED, TIMED_OUT or NOT PUBLISHED for a promotion that published nothing; else status. */
    outcome: string;
    /** Who decided each approval of such a promotion, and why. */
    decisions: ApprovalDecision[];
  }>;
  /** Whether production now has the release's signed metadata (a rejection publishes nothing). */
  published: boolean;
  /** Seconds per demo step, for bench/. */
  timings: Record<string, number>;
  ok: boolean;
  /** GA demo only: the ISO images published, the torrents made, production's major link, the bitflip. */
  isos?: string[];
  torrents?: string[];
  majorLink?: string | null;
  releaseOpen?: boolean;
}

/** What a demo root holds that a new demo would delete: executions and published trees. */
async function pipelineIn(root: string): Promise<string[]> {
  const executions = await readdir(join(root, 'engine', 'executions')).catch(() => [] as string[]);
  const productionRoot = join(root, 'mnt', 'repos-production', 'mirror', 'pub', 'rocky');
  const published = await readdir(productionRoot).catch(() => [] as string[]);
  const trees = published.filter((name) => /^[0-9]/.test(name)).map((name) => join(productionRoot, name));
  return [
    ...(executions.length
      ? [
          `${executions.length} execution${executions.length === 1 ? '' : 's'} (${executions.sort().join(', ')})`,
        ]
      : []),
    ...trees.map((tree) => `the production tree ${tree}`),
  ];
}

/**
 * Clears a root the demo made before. A root holding a pipeline (executions, a production tree)
 * is cleared only with `force`, and the refusal names what would go; a root the demo did not
 * make is never cleared.
 */
async function prepareRoot(root: string, force: boolean): Promise<void> {
  const entries = (await readdir(root)).filter((name) => name !== DEMO_LOCK);
  if (entries.length > 0) {
    if (!existsSync(join(root, MARKER))) {
      throw new DemoRefused(`${root} is not empty and was not made by releng demo; pick another --root`);
    }
    const found = await pipelineIn(root);
    if (found.length && !force) {
      throw new DemoRefused(
        `${root} already holds a pipeline; a new demo would delete ${found.join(' and ')}. Rerun with --force to delete them, or pick another --root`,
      );
    }
    await Promise.all(entries.map((name) => rm(join(root, name), { recursive: true, force: true })));
  }
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

/** How long an execution ran, to a tenth of a second. */
export const executionSeconds = (r: ExecutionRecord) =>
  seconds(Date.parse(r.stopDate ?? r.startDate) - Date.parse(r.startDate));

/** One execution as the demo's summary lists it. */
export function executionSummary(r: ExecutionRecord): DemoResult['executions'][number] {
  return {
    name: r.name,
    stateMachine: r.stateMachine,
    status: r.status,
    seconds: executionSeconds(r),
    ...(r.error ? { error: `${r.error}: ${r.cause ?? ''}` } : {}),
    ...(r.failedState ? { failedState: r.failedState } : {}),
    ...outcomeOf(r),
  };
}

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
  await checkRootWritable(root);
  const releaseLock = await lockDemoRoot(root);
  try {
    await prepareRoot(root, options.force === true);
    return await runOnPreparedRoot(options, root, major, timed, timings);
  } finally {
    // No gpg-agent outlives the demo, even one that failed half-way through the package store.
    await stopAgent(join(root, 'etc', 'releng', 'gnupg'));
    await releaseLock();
  }
}

/** The root exists or can be made, and this user may write there; else one clear line. */
async function checkRootWritable(root: string): Promise<void> {
  try {
    await mkdir(root, { recursive: true });
    await access(root, constants.W_OK);
  } catch (err) {
    throw new DemoRefused(`--root ${root}: cannot write there (${errnoCode(err) ?? errorMessage(err)})`);
  }
}

/** Takes the root's demo lock (a file with this pid), replacing one whose pid is dead. */
async function lockDemoRoot(root: string): Promise<() => Promise<void>> {
  const file = join(root, DEMO_LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(file, { force: true });
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
        throw new DemoRefused(
          `another releng demo (pid ${holder}) is running on ${root}; wait for it, or pick another --root`,
        );
      }
      await rm(file, { force: true }); // stale: its demo is gone
    }
  }
  throw new DemoRefused(`another releng demo took ${root} at the same moment; try again`);
}

async function runOnPreparedRoot(
  options: DemoOptions,
  root: string,
  major: string,
  timed: <T>(step: string, fn: () => Promise<T>) => Promise<T>,
  timings: Record<string, number>,
): Promise<DemoResult> {
  const store = await timed('package store', () => demoPackageStore(root, major, options.listener));
  // The store's overrides and the minor release asked for; serveDemoErrata adds its Apollo.
  const asked = options.release
    ? mergeConfig(store.configOverrides, {
        majors: { [major]: { channels: { stable: { revision: options.release } } } },
      })
    : store.configOverrides;
  const overrides = await withDemoSig(store, withDemoKeyEverywhere(store, asked));
  await writeFile(store.configPath, `${JSON.stringify(overrides, null, 2)}\n`);
  // The install path's install-signing-key imports the key from the file standing for the secret.
  await exportSecretKey(store.key, secretFilePath(root, buildConfig(overrides).aws.signingKeySecret));
  const apollo = await serveDemoErrata(root);
  try {
    return await (options.ga ? runGaCycle : runCycle)(options, store, timed, timings);
  } finally {
    // Nobody serves the stand-in now: a later command on this root serves it again.
    await apollo.close();
    await rm(join(root, APOLLO_SERVER), { force: true });
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

/** The demo's release (`--release`) and its paths, and a local session that approves as the demo with `--yes`. */
export async function openDemoSession(
  options: DemoOptions,
  store: PackageStore,
  timed: <T>(step: string, fn: () => Promise<T>) => Promise<T>,
) {
  const config = loadConfig(store.configPath);
  const release = resolveRelease(config, {
    major: store.major,
    ...(options.release ? { revision: options.release } : {}),
  });
  const paths = releasePaths(config, store.root, release);
  const session = await timed('synthesize CDK app', () =>
    openLocalSession({
      root: store.root,
      configFile: store.configPath,
      ...(options.listener ? { listener: options.listener } : {}),
      ...(options.yes ? { autoApproveAs: DEMO_APPROVER } : {}),
      ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
      ...(options.stopOnInterrupt ? { stopOnInterrupt: true } : {}),
    }),
  );
  return { config, release, paths, session };
}

/** From the written config to the finished executions: the part the engine runs. */
async function runCycle(
  options: DemoOptions,
  store: PackageStore,
  timed: <T>(step: string, fn: () => Promise<T>) => Promise<T>,
  timings: Record<string, number>,
): Promise<DemoResult> {
  const { root, major } = store;
  const { config, paths, session } = await openDemoSession(options, store, timed);
  const report = await timed('koji intake', async () =>
    runKojiIntake({
      file: await kojiEvents(store),
      root,
      dryRun: false,
      config,
      starter: session.engine,
      locks: session.adapters.locks,
      lanes: session.adapters.lanes,
    }),
  );
  if (report.rejected.length) {
    throw new Error(
      `intake rejected the demo's koji events: ${report.rejected.map((r) => r.reason).join('; ')}`,
    );
  }
  await timed('pipeline', () => session.engine.idle());

  const records: ExecutionRecord[] = (await session.engine.store.list()).reverse();
  for (const r of records) timings[`${r.stateMachine} ${r.name}`] = executionSeconds(r);
  const machines = new Set(records.filter((r) => r.status === 'SUCCEEDED').map((r) => r.stateMachine));
  const published = existsSync(
    join(paths.productionRelease, 'BaseOS', 'x86_64', 'os', 'repodata', 'repomd.xml.asc'),
  );
  const sigDirs = sigProductionDirs(config, root, major);
  const ok =
    published &&
    sigDirs.length === demoSigs(config, major).length &&
    records.length > 0 &&
    records.every((r) => r.status === 'SUCCEEDED') &&
    ['compose', 'staging', 'promotion'].every((m) => machines.has(m as ExecutionRecord['stateMachine']));
  return {
    composeId: await latestComposeId(paths.composeRoot, 'Rocky', major),
    stagingDir: paths.stagingRelease,
    productionDir: paths.productionRelease,
    sigProductionDirs: sigDirs,
    gpgPublicKey: store.publicKeyPath,
    advisories: store.advisories,
    executions: records.map(executionSummary),
    published,
    timings,
    ok,
  };
}
