/**
 * file-lists benchmark, one tree of N files (default 100,000), everything in this process on a
 * warm cache, start-up excluded, medians of 5 (target: at most 2x a bare `find`):
 * - full rebuild: `--full`, a walk of the whole tree (one lstat per entry through find -printf);
 * - incremental: the run after a publish-like change of 1% of the tree (new files in existing
 *   dirs, files rewritten in place with journal entries, a new dir, a new repomd.xml), through
 *   the same writeAllLists the operation runs (journal read and emptied included); see
 *   publishOnePercent for `--rewrites repodata|packages`.
 * Baselines: a bare `find` (reads directory entries only, d_type) and `find -printf` of the four
 * fields, the floor of any full walk. Peak memory is the process's max RSS after each phase
 * (incremental rounds first, then full rebuilds; a peak only grows), with the RSS before them.
 * Run: `npx tsx bench/file-lists.ts [--files N] [--rewrites packages]`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IncrementalCounts } from '../host/filelist/incremental.ts';
import { markProductionDirty, productionStateDir } from '../host/filelist/journal.ts';
import { type ListedTree, writeAllLists } from '../host/filelist/trees.ts';
import { createContext } from '../host/framework/context.ts';
import { parseOperationArgs } from '../host/framework/options.ts';
import { buildConfig } from '../shared/config/load.ts';

const args = process.argv.slice(2);
const files = Number(args[args.indexOf('--files') + 1] || 100_000) || 100_000;
/** Which files a publish rewrites in place: repodata (what sync-to-prod journals) or packages. */
const rewrites = args.includes('--rewrites') ? args[args.indexOf('--rewrites') + 1] : 'repodata';
if (rewrites !== 'repodata' && rewrites !== 'packages') throw new Error('--rewrites repodata|packages');
const PER_DIR = 500;
const REPOS = 10;
const ROUNDS = 5;
/** A publish changes 1% of the tree: 80% new packages, 10% rewritten in place, 10% a new dir. */
const changes = Math.max(10 * REPOS, Math.round(files / 100));
const added = Math.round(changes * 0.8);
const rewritten = Math.round(changes * 0.1);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Runs a command, reading and discarding its output as a consumer of the list would. */
function drain(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv[0]} exited ${code}`))));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
const peakRss = () => process.resourceUsage().maxRSS * 1024;
const dirCount = Math.ceil(files / PER_DIR);
const packageDir = (tree: string, d: number) =>
  join(tree, `Repo${d % REPOS}`, 'x86_64', 'os', 'Packages', `d${d}`);
const packageName = (i: number) => `pkg-${i}-1.0-1.el8.noarch.rpm`;
const repodataDir = (tree: string, r: number) => join(tree, `Repo${r}`, 'x86_64', 'os', 'repodata');
/** Metadata files beside each repomd.xml, enough for the rewrites of one publish. */
const metadataName = (i: number) => `${i}-primary.xml.gz`;
const metadataPerRepo = Math.ceil(rewritten / REPOS);

async function makeTree(tree: string): Promise<void> {
  for (let d = 0; d < dirCount; d++) {
    const dir = packageDir(tree, d);
    await mkdir(dir, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = d * PER_DIR; i < Math.min(files, (d + 1) * PER_DIR); i++)
      writes.push(writeFile(join(dir, packageName(i)), 'x'.repeat(i % 2000)));
    await Promise.all(writes);
  }
  for (let r = 0; r < REPOS; r++) {
    await mkdir(repodataDir(tree, r), { recursive: true });
    await writeFile(join(repodataDir(tree, r), 'repomd.xml'), `<repomd>${r}</repomd>\n`);
    for (let i = 0; i < metadataPerRepo; i++)
      await writeFile(join(repodataDir(tree, r), metadataName(i)), 'm');
  }
}

/**
 * What a publish of 1% of the tree does: new packages in 8 existing dirs, a new dir, one repo's
 * repomd.xml replaced by rename, and files rewritten in place, journaled first as our writers do:
 * by default the repodata files of every repo (what sync-to-prod's `rsync --checksum` of the
 * metadata may touch in place); with `--rewrites packages`, packages in 5 more package dirs,
 * each of which is then read again whole.
 */
async function publishOnePercent(tree: string, round: number, journal: (paths: string[]) => Promise<void>) {
  for (let i = 0; i < added; i++) {
    const dir = packageDir(tree, (round * 8 + (i % 8)) % dirCount);
    await writeFile(join(dir, `new-${round}-${i}-1.0-1.el8.noarch.rpm`), 'n'.repeat(i % 2000));
  }
  const inPlace = Array.from({ length: rewritten }, (_, i) => {
    if (rewrites === 'repodata')
      return join(repodataDir(tree, i % REPOS), metadataName(Math.floor(i / REPOS)));
    const d = (100 + round * 5 + (i % 5)) % dirCount;
    return join(packageDir(tree, d), packageName(d * PER_DIR + i));
  });
  await journal(inPlace);
  await Promise.all(inPlace.map((path) => writeFile(path, `rewritten in round ${round}\n`)));
  const newDir = join(tree, `Repo${round % REPOS}`, 'x86_64', 'os', 'Packages', `new-${round}`);
  await mkdir(newDir);
  for (let i = 0; i < changes - added - rewritten; i++) await writeFile(join(newDir, packageName(i)), 'x');
  const repodata = repodataDir(tree, round % REPOS);
  await writeFile(join(repodata, '.repomd.xml.new'), `<repomd>${round} again</repomd>\n`);
  await rename(join(repodata, '.repomd.xml.new'), join(repodata, 'repomd.xml'));
}

const sortedLines = (path: string) => readFileSync(path, 'utf8').split('\n').sort();

/** The category tree under a bench root, and file-lists of it alone (as the operation runs it). */
function benchTree(root: string) {
  const config = buildConfig();
  const tree = join(root, config.mounts.production, 'mirror', 'pub', 'rocky');
  const listed: ListedTree[] = [
    {
      label: 'category',
      dir: tree,
      timeList: 'fullfiletimelist-rocky',
      copies: ['fullfiletimelist', 'fullfiletimelist-rocky-linux'],
    },
  ];
  const stateDir = productionStateDir(config, root);
  const fileLists = (full: boolean) => writeAllLists(listed, { stateDir, full, now: new Date() });
  return { config, tree, fileLists };
}

/** The first full walk, which leaves the directory cache, in a child: out of our peak RSS. */
const SEED = '--seed-cache';
if (args.includes(SEED)) {
  await benchTree(args[args.indexOf(SEED) + 1]!).fileLists(true);
  process.exit(0);
}
async function seedCache(root: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, SEED, root], {
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`seeding exited ${code}`))));
  });
}

const work = await mkdtemp(join(tmpdir(), 'bench-filelists-'));
try {
  const root = join(work, 'root');
  const { config, tree, fileLists } = benchTree(root);
  await makeTree(tree);
  const ctx = createContext({
    operation: 'sync-to-prod',
    config,
    root,
    dryRun: false,
    options: parseOperationArgs('sync-to-prod', [
      '--root',
      root,
      '--major',
      '8',
      '--approved-digest',
      'f'.repeat(64),
    ]),
    clock: { now: () => new Date() },
    progress: () => {},
  });
  // A production tree is older than the racy window (2 s) when file-lists first stamps it.
  await sleep(2100);
  await drain(['find', tree, '-printf', '%T@\t%y\t%s\t%P\n']); // warm the cache for all
  await seedCache(root);
  const rssBefore = process.memoryUsage().rss;

  const findTimes: number[] = [];
  const statTimes: number[] = [];
  const baselines = async () => {
    findTimes.push(await timed(() => drain(['find', tree])));
    statTimes.push(await timed(() => drain(['find', tree, '-printf', '%T@\t%y\t%s\t%P\n'])));
  };

  const incrementalTimes: number[] = [];
  let counts: IncrementalCounts | undefined;
  let dirs = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Publishes are hours apart, each followed at once by file-lists (the worst case for the
    // racy rule: every directory the publish changed is read again by the next run too).
    if (round) await sleep(2100);
    await publishOnePercent(tree, round, (paths) => markProductionDirty(ctx, paths));
    await baselines();
    incrementalTimes.push(
      await timed(async () => {
        const [result] = await fileLists(false);
        if (result?.walk !== 'incremental') throw new Error(`not incremental: ${result?.reason}`);
        counts = result.counts!;
        dirs = result.dirs;
      }),
    );
  }
  const peakAfterIncremental = peakRss();
  // Kept to check afterwards, out of the measured memory, that it holds what a full walk finds.
  const incrementalCopy = join(work, 'incremental-list');
  await copyFile(join(tree, 'fullfiletimelist-rocky'), incrementalCopy);

  const fullTimes: number[] = [];
  let entries = 0;
  for (let run = 0; run < ROUNDS; run++) {
    await baselines();
    fullTimes.push(
      await timed(async () => {
        entries = (await fileLists(true))[0]!.entries;
      }),
    );
  }
  const peakAfterFull = peakRss();
  const same =
    JSON.stringify(sortedLines(join(tree, 'fullfiletimelist-rocky'))) ===
    JSON.stringify(sortedLines(incrementalCopy));
  if (!same) throw new Error('the incremental list differs from a full walk');

  const find = median(findTimes);
  console.log(
    JSON.stringify({
      files,
      entries,
      dirs,
      changedPerRound: changes,
      rewrites,
      lastRound: counts,
      findSeconds: find,
      findPrintfSeconds: median(statTimes),
      fullRebuildSeconds: median(fullTimes),
      fullRatioToBareFind: median(fullTimes) / find,
      fullRatioToFindPrintf: median(fullTimes) / median(statTimes),
      incrementalSeconds: median(incrementalTimes),
      ratioToBareFind: median(incrementalTimes) / find,
      rssBeforeMiB: mib(rssBefore),
      peakRssAfterIncrementalMiB: mib(peakAfterIncremental),
      peakRssAfterFullMiB: mib(peakAfterFull),
      incrementalEqualsFull: same,
    }),
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
