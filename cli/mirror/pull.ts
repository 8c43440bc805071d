import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execFile } from '../../host/framework/exec.ts';
import { parseRepomd } from '../../host/repo/repomd.ts';
import { findRepoDirs } from '../../host/repo/walk.ts';
import { isErrno } from '../../shared/errors.ts';
import {
  contentFilters,
  metadataFilters,
  parseRsyncSource,
  TOP_LEVEL_LISTS,
} from '../../shared/mirror/plan.ts';
import { pruneExpired, recoverSwaps, type StateDirs, stateDirs, swapIn } from './swap.ts';
import { checkNewMetadata, readPrimaryPackages, trustedKey } from './verify.ts';

/**
 * `releng mirror-pull`: the mirror side of the publish protocol. Stage 1 copies everything but
 * repository metadata and the top-level lists; stage 2 fetches each repodata/ beside the mirror,
 * checks it (signature by the release key, every named file with its checksum, every package of
 * its primary on the mirror) and only then swaps it in; stage 3 deletes what the source no
 * longer has, except packages a served primary names; stage 4 copies the top-level lists.
 * A kill at any point leaves the served tree consistent, and a rerun finishes.
 */

export interface PullOptions {
  from: string;
  to: string;
  keyFile?: string;
  keepHours: number;
  /** rsync --bwlimit in KiB/s, for slow links (and the tests that throttle on purpose). */
  bwlimit?: number;
  attempts?: number;
  log?: (line: string) => void;
}

export interface PullReport {
  from: string;
  to: string;
  swapped: string[];
  unchanged: string[];
  /** Repos whose new metadata did not pass; the mirror serves their previous metadata. */
  kept: { repo: string; problems: string[]; badSignature: boolean }[];
  /** Served repodata dirs a killed earlier run had moved aside, put back. */
  restored: string[];
  /** Superseded metadata files removed after their grace period. */
  expired: number;
  attempts: number;
  listsCopied: boolean;
}

async function rsync(args: string[], log: (line: string) => void): Promise<void> {
  const argv = ['rsync', ...args];
  log(`$ ${argv.join(' ')}`);
  // 24: files vanished at the source (it is being published); 23: some file could not be read.
  // Neither is trusted: the metadata checks decide what is served.
  await execFile(argv, { okCodes: [0, 23, 24] });
}

/** One pull at a time per mirror: a second one refuses while the first one's process lives. */
async function takeLock(dirs: StateDirs): Promise<() => Promise<void>> {
  const file = join(dirs.state, 'lock');
  for (let tries = 0; tries < 2; tries++) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      const pid = Number(await readFile(file, 'utf8').catch(() => '0'));
      let alive = false;
      try {
        alive = pid > 0 && process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (alive) throw new Error(`another mirror-pull (pid ${pid}) is running on this mirror (${file})`);
      await rm(file, { force: true });
    }
  }
  throw new Error(`cannot take ${file}`);
}

const same = async (a: string, b: string) => {
  const [x, y] = await Promise.all([readFile(a).catch(() => undefined), readFile(b).catch(() => undefined)]);
  return !!x && !!y && x.equals(y);
};

/** rsync's filter syntax gives *, ? and [ meaning: escape them to match one path exactly. */
const exactly = (path: string) => `/${path.replace(/[*?[\\]/g, '\\$&')}`;

/** Packages named by any primary the mirror serves (current or in its grace period). */
async function protectedPackages(mirror: string): Promise<string[]> {
  const out: string[] = [];
  for (const repo of await findRepoDirs(mirror)) {
    const repodata = join(mirror, repo, 'repodata');
    for (const name of await readdir(repodata)) {
      if (!/primary\.xml/.test(name)) continue;
      const packages = await readPrimaryPackages(join(repodata, name)).catch(() => []);
      for (const pkg of packages) out.push(exactly(join(repo, pkg.href)));
    }
  }
  return [...new Set(out)];
}

/** What every stage of one pull works with. */
interface PullRun {
  sourceUrl: string;
  mirror: string;
  dirs: StateDirs;
  key: Awaited<ReturnType<typeof trustedKey>>;
  /** rsync options every stage passes. */
  common: string[];
  keepMs: number;
  log: (line: string) => void;
}

export async function pullMirror(options: PullOptions): Promise<PullReport> {
  const source = parseRsyncSource(options.from);
  if (!Number.isFinite(options.keepHours) || options.keepHours < 0)
    throw new Error(`--keep-hours ${options.keepHours}: expected a number of hours, 0 or more`);
  const mirror = resolve(options.to);
  const dirs = stateDirs(mirror);
  const tmp = join(dirs.state, 'tmp');
  await mkdir(mirror, { recursive: true });
  await mkdir(tmp, { recursive: true });
  await mkdir(dirs.incoming, { recursive: true });
  const release = await takeLock(dirs);
  try {
    const restored = await recoverSwaps(mirror, dirs);
    const run: PullRun = {
      sourceUrl: source.url,
      mirror,
      dirs,
      key: await trustedKey(dirs.state, options.keyFile),
      common: ['-a', `--temp-dir=${tmp}`, ...(options.bwlimit ? [`--bwlimit=${options.bwlimit}`] : [])],
      keepMs: options.keepHours * 3_600_000,
      log: options.log ?? (() => {}),
    };
    const report: PullReport = {
      from: source.url,
      to: mirror,
      swapped: [],
      unchanged: [],
      kept: [],
      restored,
      expired: 0,
      attempts: 0,
      listsCopied: false,
    };
    await pullContentAndMetadata(run, report, options.attempts ?? 3);
    await pruneUnchanged(run, report);
    await deleteRemoved(run);
    if (!report.kept.length) {
      await copyTopLevelLists(run);
      report.listsCopied = true;
    }
    return report;
  } finally {
    await release();
  }
}

/** Stages 1 and 2, retried while some repo's new metadata does not pass yet (its packages still arriving). */
async function pullContentAndMetadata(run: PullRun, report: PullReport, maxAttempts: number): Promise<void> {
  const { common, sourceUrl, mirror, dirs, log } = run;
  while (report.attempts < maxAttempts) {
    report.attempts++;
    log(`stage 1: content without metadata (attempt ${report.attempts})`);
    await rsync([...common, ...contentFilters(), sourceUrl, `${mirror}/`], log);
    log('stage 2: metadata into the staging place');
    await forgetFixedNames(dirs.incoming);
    await rsync([...common, '--delete', ...metadataFilters(), sourceUrl, `${dirs.incoming}/`], log);
    report.kept = [];
    for (const repo of await findRepoDirs(dirs.incoming)) await takeRepoMetadata(run, report, repo);
    if (!report.kept.length) break;
    for (const kept of report.kept) log(`${kept.repo}: not yet: ${kept.problems.join('; ')}`);
  }
}

/**
 * repomd.xml and its signature keep their names from one revision to the next, and a source
 * can re-sign within the second at the same size: rsync's quick check (size and whole-second
 * mtime) would keep the old bytes. They are a few KiB, so each pull fetches them whole.
 */
async function forgetFixedNames(incoming: string): Promise<void> {
  for (const repo of await findRepoDirs(incoming))
    for (const name of ['repomd.xml', 'repomd.xml.asc', 'repomd.xml.key'])
      await rm(join(incoming, repo, 'repodata', name), { force: true });
}

/** One repo's fetched repodata: unchanged, kept out (with its problems), or checked and swapped in. */
async function takeRepoMetadata(run: PullRun, report: PullReport, repo: string): Promise<void> {
  const { mirror, dirs, keepMs } = run;
  const fetched = join(dirs.incoming, repo, 'repodata', 'repomd.xml');
  const served = join(mirror, repo, 'repodata', 'repomd.xml');
  if ((await same(fetched, served)) && (await same(`${fetched}.asc`, `${served}.asc`))) {
    if (!report.swapped.includes(repo) && !report.unchanged.includes(repo)) report.unchanged.push(repo);
    return;
  }
  const check = await checkNewMetadata(run.key, join(dirs.incoming, repo), join(mirror, repo));
  if (check.problems.length) {
    // Same size and mtime second as the source's new bytes: rsync's quick check would keep them.
    for (const href of check.mismatched) await rm(join(dirs.incoming, repo, href), { force: true });
    report.kept.push({ repo, problems: check.problems, badSignature: check.badSignature });
    return;
  }
  const hrefs = check.records.map((r) => r.href);
  report.expired += (await swapIn({ mirror, dirs, repo, hrefs, keepMs, now: Date.now() })).length;
  if (!report.swapped.includes(repo)) report.swapped.push(repo);
  report.unchanged = report.unchanged.filter((r) => r !== repo);
  run.log(`swapped in ${repo}/repodata`);
}

/** Repos whose metadata did not change still age out the superseded files of earlier pulls. */
async function pruneUnchanged(run: PullRun, report: PullReport): Promise<void> {
  const { mirror, dirs, keepMs } = run;
  for (const repo of report.unchanged) {
    const repomd = join(mirror, repo, 'repodata', 'repomd.xml');
    const hrefs = parseRepomd(await readFile(repomd, 'utf8')).records.map((r) => r.href);
    report.expired += (await pruneExpired({ mirror, dirs, repo, hrefs, keepMs, now: Date.now() })).length;
  }
}

/** Stage 3: what the source dropped goes, except packages a served (or grace-period) primary names. */
async function deleteRemoved(run: PullRun): Promise<void> {
  const { common, sourceUrl, mirror, dirs, log } = run;
  log('stage 3: delete what the source no longer has (never a package a served primary names)');
  const protect = join(dirs.state, 'protect');
  await writeFile(protect, `${(await protectedPackages(mirror)).join('\n')}\n`);
  await rsync(
    [
      ...common,
      '--delete',
      '--existing',
      '--ignore-existing',
      ...contentFilters(),
      `--exclude-from=${protect}`,
    ].concat([sourceUrl, `${mirror}/`]),
    log,
  );
}

/** Stage 4, only once every repo's metadata is in: the lists name what the mirror now serves. */
async function copyTopLevelLists(run: PullRun): Promise<void> {
  const { common, sourceUrl, mirror, log } = run;
  log('stage 4: top-level lists');
  const lists = [...TOP_LEVEL_LISTS.map((name) => `--include=/${name}`), '--exclude=*'];
  await rsync([...common, ...lists, sourceUrl, `${mirror}/`], log);
}
