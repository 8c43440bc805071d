import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from '../../host/framework/exec.ts';
import { sha256File } from '../../host/framework/fsutil.ts';
import { findRepoDirs } from '../../host/repo/walk.ts';
import {
  approveStaged,
  buildPackages,
  noarch,
  type PackageSet,
  publishArgs,
  repomdProblems,
  signRepomd,
  testConfigFile,
  testRelease,
} from '../host-production/fixtures.ts';
import { withRsyncDaemon } from '../host-production/mirror.ts';
import { dnfClient } from '../support/rpm.ts';

/**
 * Guarantee 1 under fire: sync-to-prod is SIGKILLed (its whole process group, rsync included)
 * at a random moment of each run while a mirror pulls production over rsync from a daemon on
 * 127.0.0.1. Every pull is checked the way a mirror's users would find it: each repomd.xml
 * names only files present with the stated checksum, and its .asc verifies. Then the publish
 * is rerun to completion and dnf with repo_gpgcheck=1 reads the mirrored copy, and production
 * must hold every staged file with its content (nothing lost). Shared by the test (a few runs)
 * and bench/faults.ts (the full count).
 */

export const DEFAULT_FAULT_SEED = 20261127;

export interface FaultLoopReport {
  seed: number;
  publisher: Publisher;
  runs: number;
  /** Runs whose publish was killed before it finished (the rest finished before the kill time). */
  killed: number;
  /** Kill delay of each run in ms after its first step, its share of an unkilled publish, the step hit. */
  killPoints: { delayMs: number; fraction: number; killed: boolean; step: string }[];
  /** Mirror pulls made while a publish ran, and how many saw an inconsistent tree. */
  pulls: number;
  inconsistentPulls: string[];
  /** Runs after whose kill production itself was inconsistent (what a mirror could pull next). */
  inconsistentAfterKill: string[];
  /** After the rerun: staged files missing or different in production, mirror or dnf problems. */
  afterRerun: string[];
  dnfChecks: number;
  filesChecked: number;
  /** How many kills landed in each step. */
  stepsHit: Record<string, number>;
  publishMs: number;
}

/** mulberry32: a small seeded generator, so a failing run is replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const HOST = join(import.meta.dirname, '..', '..', 'bin', 'releng-host.mjs');
const REPOS = ['BaseOS/x86_64/os', 'AppStream/x86_64/os'];

export interface Loop {
  work: string;
  root: string;
  set: PackageSet;
  random: () => number;
}

export const paths = (loop: Loop) => testRelease(loop.root).paths;

/**
 * Revision n: a new image of random size (a copy window to be killed in) and new repodata.
 * With `inRepos`, the images go into each repo's images/ instead (as boot.iso and install.img
 * do), which rsync sends before that repo's repodata/: a slow pull is then still copying them
 * when a publish replaces the metadata it listed.
 */
export async function stageRevision(loop: Loop, n: number, inRepos = false): Promise<void> {
  const staging = paths(loop).stagingRelease;
  const size = (4 + Math.floor(loop.random() * 12)) * 1024 * 1024;
  for (const dir of inRepos ? REPOS.map((repo) => join(repo, 'images')) : ['images']) {
    await mkdir(join(staging, dir), { recursive: true });
    await writeFile(join(staging, dir, `cloud-${n}.img`), randomBytes(inRepos ? size / 8 : size));
  }
  const packages = n % 2 === 0 ? ['hello-1.0-1.noarch'] : ['hello-1.0-1.noarch', 'tools-1.0-1.noarch'];
  for (const repo of REPOS) {
    const dir = join(staging, repo);
    await mkdir(join(dir, 'Packages'), { recursive: true });
    for (const name of packages)
      await execFile(['cp', '-p', loop.set.rpms[name]!, join(dir, 'Packages', `${name}.rpm`)]);
    await execFile(['createrepo_c', '--quiet', '--revision', String(n), dir]);
    if (inRepos) {
      // Real repodata is tens of MB (filelists, updateinfo): a slow pull needs a while to copy
      // it, between listing repodata/ and reading repomd.xml, the window a publish lands in.
      const extra = join(loop.work, `extra-${n}.xml`);
      await writeFile(extra, randomBytes(size / 4).toString('base64'));
      await execFile(['modifyrepo_c', '--no-compress', '--mdtype=extra', extra, join(dir, 'repodata')]);
      await rm(extra);
    }
    await signRepomd(loop.set.key, dir);
  }
}

/** What verify-staging would leave for this staged tree, then sync-to-prod's argv to publish it. */
export async function publishArgv(loop: Loop): Promise<string[]> {
  const digest = await approveStaged(loop.root, loop.set);
  return [
    HOST,
    'sync-to-prod',
    '--root',
    loop.root,
    '--config',
    testConfigFile(loop.root),
    ...publishArgs(digest),
  ];
}

/** How one publish ended: killed or not, the step it was in, and how long it worked. */
interface PublishRun {
  killed: boolean;
  /** The last step or command the publish had logged when it was killed (or finished). */
  step: string;
  workedMs: number;
}

/** A short name for the step a progress line starts: which rsync pass, or the step itself. */
function stepName(line: string): string {
  if (!line.startsWith('$ ')) return line.replace(/ \/\S+/g, ' …').slice(0, 50);
  const command = line.split(' ')[1]!;
  if (command !== 'rsync') return command;
  if (line.includes('--dry-run')) return 'rsync dry run (shrink guard, scan)';
  if (line.includes('--delay-updates') || line.includes('--checksum')) return 'rsync metadata (repomd last)';
  if (line.includes('--files-from')) return 'rsync packages and images';
  return 'rsync';
}

/**
 * Who publishes: our sync-to-prod, or (the control, to show the checks catch a publish that is
 * not mirror-safe) one plain `rsync -a --delete` of staging over production.
 */
export type Publisher = 'sync-to-prod' | 'plain-rsync';

async function publishCommand(loop: Loop, publisher: Publisher): Promise<string[]> {
  if (publisher === 'sync-to-prod') return [process.execPath, ...(await publishArgv(loop))];
  const { stagingRelease, productionRelease } = paths(loop);
  return ['rsync', '-a', '--delete', '--mkpath', `${stagingRelease}/`, `${productionRelease}/`];
}

/**
 * Runs the publish in its own process group and SIGKILLs the group `delayMs` after its first
 * progress line (so the kill lands in the publish's work, not in Node's start-up).
 */
async function publishKilledAfter(loop: Loop, delayMs: number, publisher: Publisher): Promise<PublishRun> {
  const [program, ...args] = await publishCommand(loop, publisher);
  const child = spawn(program!, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let killed = false;
  let step = publisher === 'plain-rsync' ? 'rsync -a --delete' : '';
  let began = 0;
  let timer: NodeJS.Timeout | undefined;
  let output = '';
  const begin = () => {
    began = Date.now();
    if (Number.isFinite(delayMs))
      timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
          killed = true;
        } catch {
          // already gone
        }
      }, delayMs);
  };
  if (publisher === 'plain-rsync') begin();
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
    const lines = d
      .toString()
      .split('\n')
      .filter((l) => l.startsWith('[sync-to-prod]'));
    if (!killed && lines.length) step = stepName(lines.at(-1)!.replace(/^\[sync-to-prod\] /, ''));
    if (!began && lines.length) begin();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  if (!killed && code !== 0)
    throw new Error(`${publisher} failed without being killed (exit ${code}): ${output.slice(-2000)}`);
  return { killed: killed && code !== 0, step, workedMs: Date.now() - began };
}

/** One rsync pull of the whole module, as a mirror's cron job makes it. */
async function pull(url: string, mirror: string): Promise<'ok' | 'vanished' | string> {
  await mkdir(mirror, { recursive: true });
  try {
    await execFile(['rsync', '-a', '--delete', '--delay-updates', url, `${mirror}/`]);
    return 'ok';
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr ?? err);
    // 24: files vanished on the sender during the pull; the mirror retries next time.
    if (/\(code 24\)/.test(text)) return 'vanished';
    // 23: a file the mirror was offered could not be read, such as a publish's partial file.
    if (/\(code 23\)/.test(text)) return `unreadable file offered: ${text.split('\n')[0]}`;
    throw err;
  }
}

async function dnfReads(loop: Loop, mirror: string, name: string): Promise<void> {
  const dnf = await dnfClient(join(loop.work, 'dnf', name), [
    { id: 'mirror-baseos', path: join(mirror, 'BaseOS/x86_64/os'), gpgKey: loop.set.publicKey },
  ]);
  const { stdout } = await dnf.run(['repoquery', '--qf', '%{name}-%{version}', '--refresh']);
  if (!stdout.includes('hello-1.0')) throw new Error(`dnf read no hello-1.0 from the mirror: ${stdout}`);
  await rm(dnf.dir, { recursive: true, force: true });
}

/** Files of staging missing from production or with other content: what a publish lost. */
async function lostFiles(loop: Loop): Promise<{ lost: string[]; checked: number }> {
  const { stagingRelease, productionRelease } = paths(loop);
  const names = (await readdir(stagingRelease, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(stagingRelease.length + 1));
  const lost: string[] = [];
  for (const name of names) {
    const prod = await sha256File(join(productionRelease, name)).catch(() => 'missing');
    if (prod !== (await sha256File(join(stagingRelease, name)))) lost.push(`${name}: ${prod}`);
  }
  return { lost, checked: names.length };
}

/** Signed packages and an empty root under `work`. */
export async function createLoop(work: string, seed: number): Promise<Loop> {
  return {
    work,
    root: join(work, 'root'),
    set: await buildPackages(work, [noarch('hello', '1.0'), noarch('tools', '1.0')]),
    random: seededRandom(seed),
  };
}

export async function runFaultLoop(options: {
  work: string;
  runs: number;
  seed: number;
  publisher?: Publisher;
  log?: (line: string) => void;
}): Promise<FaultLoopReport> {
  const publisher = options.publisher ?? 'sync-to-prod';
  const log = options.log ?? (() => {});
  log(`fault loop: seed ${options.seed} (RELENG_FAULT_SEED), ${options.runs} runs`);
  const loop = await createLoop(options.work, options.seed);
  // An unkilled publish of one revision gives the time range kill points are drawn from.
  await stageRevision(loop, 0);
  const publishMs = (await publishKilledAfter(loop, Number.POSITIVE_INFINITY, publisher)).workedMs;
  const report: FaultLoopReport = {
    seed: options.seed,
    publisher,
    runs: options.runs,
    killed: 0,
    killPoints: [],
    pulls: 0,
    inconsistentPulls: [],
    inconsistentAfterKill: [],
    afterRerun: [],
    dnfChecks: 0,
    filesChecked: 0,
    stepsHit: {},
    publishMs,
  };
  const production = paths(loop).productionRelease;
  await mkdir(join(options.work, 'rsyncd'), { recursive: true });
  await withRsyncDaemon(join(options.work, 'rsyncd'), production, async (url) => {
    for (let run = 1; run <= options.runs; run++) {
      await stageRevision(loop, run);
      const fraction = loop.random() * 1.1;
      const delayMs = Math.round(fraction * publishMs);
      const mirror = join(options.work, 'mirror');
      let publishing = true;
      const publish = publishKilledAfter(loop, delayMs, publisher).finally(() => {
        publishing = false;
      });
      // Awaited below; until then a failure must not crash the process as unhandled.
      publish.catch(() => {});
      // The mirror pulls over and over while the publish runs (and is killed).
      while (publishing) {
        const pulled = await pull(url, mirror);
        if (pulled === 'vanished') continue;
        report.pulls++;
        if (pulled !== 'ok') {
          report.inconsistentPulls.push(`run ${run}: ${pulled}`);
          continue;
        }
        const problems = await repomdProblems(mirror, loop.set.key);
        if (problems.length) report.inconsistentPulls.push(`run ${run}: ${problems.join('; ')}`);
      }
      const { killed, step } = await publish;
      report.killPoints.push({ delayMs, fraction: Number(fraction.toFixed(3)), killed, step });
      if (killed) {
        report.killed++;
        report.stepsHit[step] = (report.stepsHit[step] ?? 0) + 1;
      }
      const afterKill = await repomdProblems(production, loop.set.key);
      if (afterKill.length) report.inconsistentAfterKill.push(`run ${run}: ${afterKill.join('; ')}`);
      // The rerun finishes the publish; the mirror then has it whole, and dnf reads it.
      await execFile(await publishCommand(loop, publisher));
      const { lost, checked } = await lostFiles(loop);
      report.filesChecked += checked;
      for (const file of lost) report.afterRerun.push(`run ${run}: lost ${file}`);
      const finalPull = await pull(url, mirror);
      if (finalPull !== 'ok') report.afterRerun.push(`run ${run}: the pull after the rerun: ${finalPull}`);
      const mirrored = await repomdProblems(mirror, loop.set.key);
      for (const problem of mirrored) report.afterRerun.push(`run ${run}: mirror: ${problem}`);
      for (const repo of await findRepoDirs(production)) {
        const repomd = (tree: string) => readFile(join(tree, repo, 'repodata', 'repomd.xml'));
        if (!(await repomd(mirror)).equals(await repomd(paths(loop).stagingRelease))) {
          // Size and mtime of each copy: what rsync's quick check compared.
          const facts = (tree: string) =>
            stat(join(tree, repo, 'repodata', 'repomd.xml')).then((s) => `${s.size} B, mtime ${s.mtimeMs}`);
          report.afterRerun.push(
            `run ${run}: ${repo} on the mirror (${await facts(mirror)}) is not the staged repomd.xml (production ${await facts(production)})`,
          );
        }
      }
      try {
        await dnfReads(loop, mirror, `run-${run}`);
        report.dnfChecks++;
      } catch (err) {
        report.afterRerun.push(`run ${run}: dnf: ${(err as Error).message.split('\n')[0]}`);
      }
      log(
        `run ${run}: kill at ${delayMs} ms (${(fraction * 100).toFixed(0)}% of a publish) ${killed ? `killed in: ${step}` : 'finished first'}; pulls so far ${report.pulls}`,
      );
    }
  });
  return report;
}

/**
 * Who pulls in the mirror loop: `releng mirror-pull` (content, then checked metadata swapped
 * in), or the control, one plain `rsync -a --delete --delay-updates` pass as a mirror's cron
 * job makes it. Both throttled by --bwlimit.
 */
export type Puller = 'mirror-pull' | 'plain-rsync';

export interface MirrorLoopReport {
  seed: number;
  puller: Puller;
  bwlimitKiBps: number;
  /** Rounds: a throttled pull starts, a publish starts while it copies, the pull ends. */
  publishes: number;
  pulls: number;
  /** Pulls still running when the publish of their round had finished (the race of a slow mirror). */
  pullsSpanningPublishes: number;
  /** Pulls after which the mirror served a repomd.xml naming missing files, or a bad .asc. */
  inconsistentPulls: string[];
  /** The mirror checked again and again while each pull ran: what its own clients could see. */
  samplesDuringPulls: number;
  inconsistentSamples: number;
  /** mirror-pull runs that kept some previous metadata (exit 3: consistent, behind). */
  keptPrevious: number;
  /** After the last round: one more pull, the mirror's repomd equal to staging, dnf. */
  atEnd: string[];
  dnfChecks: number;
  wallMs: number;
}

const RELENG = join(import.meta.dirname, '..', '..', 'bin', 'releng.mjs');

/**
 * Starts one throttled pull by `puller`; `copying` resolves when it has begun its work (rsync
 * at once; mirror-pull at its first stage, after the CLI's start-up), `done` with its exit code.
 */
function startPull(puller: Puller, url: string, mirror: string, loop: Loop, bwlimit: number) {
  const argv =
    puller === 'mirror-pull'
      ? [process.execPath, RELENG, 'mirror-pull', '--from', url, '--to', mirror, '--key', loop.set.publicKey]
      : ['rsync', '-a', '--delete', '--delay-updates', url, `${mirror}/`];
  const child = spawn(argv[0]!, [...argv.slice(1), `--bwlimit=${bwlimit}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  let began: () => void = () => {};
  const copying = new Promise<void>((resolve) => {
    began = resolve;
  });
  if (puller === 'plain-rsync') began();
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
    if (output.includes('stage 1')) began();
  });
  const done = new Promise<number>((resolve, reject) =>
    child.on('close', (code) => {
      began();
      // 3: mirror-pull kept some previous metadata; 23/24: rsync saw files change or vanish.
      if (code !== null && [0, 3, 23, 24].includes(code)) resolve(code);
      else reject(new Error(`${puller} exited ${code}: ${output.slice(-1500)}`));
    }),
  );
  return { copying, done };
}

/**
 * Guarantee 1 from the mirror's side, the race of issue 13: in each round a throttled mirror
 * pull starts, sync-to-prod publishes a new revision a seeded 0.2-1.5 s into the pull's copying,
 * and the pull ends. While it runs and after it, each repomd.xml the mirror serves must name
 * only present files with their checksums, and its .asc must verify. The control (plain rsync)
 * is expected to be caught; `stopWhenCaught` ends its loop at the first catch (for `npm test`).
 */
export async function runMirrorLoop(options: {
  work: string;
  publishes: number;
  seed: number;
  puller: Puller;
  bwlimit?: number;
  stopWhenCaught?: boolean;
  log?: (line: string) => void;
}): Promise<MirrorLoopReport> {
  const log = options.log ?? (() => {});
  const bwlimit = options.bwlimit ?? 1000;
  const started = Date.now();
  const loop = await createLoop(options.work, options.seed);
  const report: MirrorLoopReport = {
    seed: options.seed,
    puller: options.puller,
    bwlimitKiBps: bwlimit,
    publishes: 0,
    pulls: 0,
    pullsSpanningPublishes: 0,
    inconsistentPulls: [],
    samplesDuringPulls: 0,
    inconsistentSamples: 0,
    keptPrevious: 0,
    atEnd: [],
    dnfChecks: 0,
    wallMs: 0,
  };
  await stageRevision(loop, 0, true);
  await execFile([process.execPath, ...(await publishArgv(loop))]);
  const production = paths(loop).productionRelease;
  const mirror = join(options.work, `mirror-${options.puller}`);
  await mkdir(mirror, { recursive: true });
  await mkdir(join(options.work, 'rsyncd'), { recursive: true });
  await withRsyncDaemon(join(options.work, 'rsyncd'), production, async (url) => {
    for (let round = 1; round <= options.publishes; round++) {
      await stageRevision(loop, round, true);
      const publishArgs = await publishArgv(loop);
      const pull = startPull(options.puller, url, mirror, loop, bwlimit);
      let pulling = true;
      const ended = pull.done.finally(() => {
        pulling = false;
      });
      ended.catch(() => {});
      await pull.copying;
      await new Promise((r) => setTimeout(r, 200 + Math.floor(loop.random() * 1300)));
      const publish = execFile([process.execPath, ...publishArgs]);
      publish.catch(() => {});
      // The mirror's own clients look while the pull runs.
      while (pulling) {
        const seen = await repomdProblems(mirror, loop.set.key);
        report.samplesDuringPulls++;
        if (seen.length) report.inconsistentSamples++;
        await new Promise((r) => setTimeout(r, 100));
      }
      const code = await ended;
      report.pulls++;
      // The publish had finished when the pull ended: the pull spanned the whole publish.
      let published = false;
      void publish.then(() => {
        published = true;
      });
      await new Promise((r) => setImmediate(r));
      const spanned = published;
      if (spanned) report.pullsSpanningPublishes++;
      await publish;
      report.publishes++;
      if (code === 3) report.keptPrevious++;
      const problems = await repomdProblems(mirror, loop.set.key);
      if (problems.length)
        report.inconsistentPulls.push(`round ${round} (exit ${code}): ${problems.join('; ')}`);
      log(
        `${options.puller} round ${round}: exit ${code}, ${spanned ? 'spanned the whole publish' : 'ended while the publish ran'}, ${problems.length ? 'INCONSISTENT' : 'consistent'}`,
      );
      if (problems.length && options.stopWhenCaught) break;
    }
    const last = await startPull(options.puller, url, mirror, loop, 100_000).done;
    if (last !== 0) report.atEnd.push(`the last pull exited ${last}`);
    for (const problem of await repomdProblems(mirror, loop.set.key)) report.atEnd.push(`mirror: ${problem}`);
    for (const repo of await findRepoDirs(production)) {
      const repomd = (tree: string) => readFile(join(tree, repo, 'repodata', 'repomd.xml'));
      if (!(await repomd(mirror)).equals(await repomd(paths(loop).stagingRelease)))
        report.atEnd.push(`${repo}: the mirror's repomd.xml is not the last published one`);
    }
    try {
      await dnfReads(loop, mirror, options.puller);
      report.dnfChecks++;
    } catch (err) {
      report.atEnd.push(`dnf: ${(err as Error).message.split('\n')[0]}`);
    }
  });
  report.wallMs = Date.now() - started;
  return report;
}
