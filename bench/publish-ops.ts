/**
 * Incremental publish in file-system round trips: `releng-host sync-to-prod` of a 20,000-file
 * release after 200 packages were added (20 in each of 10 repos, each repo with a new signed
 * repomd.xml), against one plain `rsync -a --delete` of the same change into a copy of
 * production (targets: at most 1.15x its metadata ops, 1.5x its wall time).
 *
 * Ops are counted with bench/syscalls.ts over every process (node, rsync, find, gpg, hardlink);
 * node's start-up (tsx loading every module of `releng-host`) is counted apart, as
 * `releng-host sync-to-prod --help`, and subtracted. Wall times are of untraced runs, start-up
 * subtracted the same way. Rounds alternate: counted (both traced), then timed (both untraced),
 * each on a fresh change of 200 files; medians.
 * Run: `npx tsx bench/publish-ops.ts [--files N] [--added N] [--rounds N]`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningKey } from '../cli/demo/rpm-tools.ts';
import { execFile } from '../host/framework/exec.ts';
import { rsyncBase } from '../host/publish/rsync.ts';
import { buildConfig } from '../shared/config/load.ts';
import { releasePaths, resolveRelease } from '../shared/release.ts';
import { approveStaged, publishArgs, signRepomd, testConfigFile } from '../test/host-production/fixtures.ts';
import { countOps, countOpsByProgram, subtract, topSyscalls, wallOf } from './syscalls.ts';

const args = process.argv.slice(2);
const numberArg = (flag: string, fallback: number) => {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const files = numberArg('--files', 20_000);
const added = numberArg('--added', 200);
const roundsWanted = numberArg('--rounds', 3);
const REPOS = 10;
const hostEntry = fileURLToPath(new URL('../bin/releng-host.mjs', import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const work = await mkdtemp(join(tmpdir(), 'bench-publish-ops-'));
try {
  const root = join(work, 'root');
  const release = resolveRelease(buildConfig(), { major: '8', revision: '8.10' });
  const paths = releasePaths(buildConfig(), root, release);
  const staging = paths.stagingRelease;
  const key = await generateSigningKey(join(work, 'gnupg'), 'Bench <bench@rocky.invalid>');
  const repoDir = (r: number) => join(staging, `Repo${r}`, 'x86_64', 'os');
  const pkg = (r: number, i: number) =>
    join(repoDir(r), 'Packages', `p${i % 26}`, `pkg-${i}-1.0-1.el8.noarch.rpm`);
  const writePackages = async (r: number, from: number, to: number) => {
    const writes: Promise<void>[] = [];
    for (let i = from; i < to; i++) writes.push(writeFile(pkg(r, i), `${i}${'x'.repeat(500 + (i % 1500))}`));
    await Promise.all(writes);
  };
  const writeRepodata = async (r: number, revision: number) => {
    await mkdir(join(repoDir(r), 'repodata'), { recursive: true });
    await writeFile(
      join(repoDir(r), 'repodata', 'repomd.xml'),
      `<?xml version="1.0"?>\n<repomd><revision>${revision}</revision></repomd>\n`,
    );
    await signRepomd(key, repoDir(r));
  };
  const perRepo = Math.floor(files / REPOS);
  for (let r = 0; r < REPOS; r++) {
    for (let l = 0; l < 26; l++) await mkdir(join(repoDir(r), 'Packages', `p${l}`), { recursive: true });
    await writePackages(r, 0, perRepo);
    await writeRepodata(r, 0);
  }
  const publicKey = join(work, 'bench-key.asc');
  await writeFile(
    publicKey,
    (
      await execFile(['gpg', '--armor', '--export', key.keyId], {
        env: { ...process.env, GNUPGHOME: key.gpgHome },
      })
    ).stdout,
  );
  const approve = () => approveStaged(root, { key, publicKey, rpms: {} });
  const hostArgv = (digest: string) => [
    process.execPath,
    hostEntry,
    'sync-to-prod',
    '--root',
    root,
    '--config',
    testConfigFile(root),
    ...publishArgs(digest),
    '--json',
  ];
  const startupArgv = [process.execPath, hostEntry, 'sync-to-prod', '--help'];
  await execFile(hostArgv(await approve())); // the first publish: production exists from here on
  const baseline = join(work, 'baseline');
  await execFile(['cp', '-a', `${paths.productionRelease}/`, baseline]);
  // The publish's own rsync options (numeric ids, --chown when root), so both set the same owner.
  const rsyncArgv = [...rsyncBase(buildConfig()), '--delete', `${staging}/`, `${baseline}/`];
  await execFile(startupArgv); // tsx's transform cache warm for every measured run alike

  let next = perRepo;
  let revision = 1;
  const change = async () => {
    const each = Math.floor(added / REPOS);
    for (let r = 0; r < REPOS; r++) {
      await writePackages(r, next, next + each);
      await writeRepodata(r, revision);
    }
    next += each;
    revision++;
    await execFile(['sync']);
    return approve();
  };

  const counted: Array<{
    filesPublished: number;
    rsync: number;
    ours: number;
    startup: number;
    oursBy: Record<string, number>;
    rsyncBy: Record<string, number>;
  }> = [];
  const timed: Array<{
    rsync: number;
    ours: number;
    startup: number;
    verifyAndScan?: number;
    publish?: number;
  }> = [];
  for (let round = 0; round < roundsWanted; round++) {
    const digest = await change();
    const rsync = await countOps(rsyncArgv);
    const startup = await countOps(startupArgv);
    const ours = await countOps(hostArgv(digest));
    const outcome = JSON.parse(ours.result.trim().split('\n').at(-1)!) as { filesPublished: number };
    counted.push({
      filesPublished: outcome.filesPublished,
      rsync: rsync.ops,
      ours: ours.ops - startup.ops,
      startup: startup.ops,
      rsyncBy: rsync.bySyscall,
      oursBy: subtract(ours.bySyscall, startup.bySyscall),
    });
    const digest2 = await change();
    const rsyncWall = await wallOf(rsyncArgv);
    const startupWall = await wallOf(startupArgv);
    const start = process.hrtime.bigint();
    const run = await execFile(hostArgv(digest2), { env: { ...process.env, UV_USE_IO_URING: '0' } });
    const oursWall = Number(process.hrtime.bigint() - start) / 1e9;
    const inside = (JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { seconds: Record<string, number> })
      .seconds;
    timed.push({ rsync: rsyncWall, startup: startupWall, ours: oursWall, ...inside });
  }
  // Where the ops go, by program, on one more change (start-up included, under node).
  const digest = await change();
  const byProgram = {
    rsync: await countOpsByProgram(rsyncArgv),
    syncToProd: await countOpsByProgram(hostArgv(digest)),
  };
  const rsyncOps = median(counted.map((c) => c.rsync));
  const oursOps = median(counted.map((c) => c.ours));
  const rsyncWall = median(timed.map((t) => t.rsync));
  const oursWall = median(timed.map((t) => t.ours - t.startup));
  const last = counted.at(-1)!;
  console.log(
    JSON.stringify(
      {
        files,
        addedPerRound: added,
        plainRsync: { ops: rsyncOps, wall: rsyncWall, top: topSyscalls(last.rsyncBy) },
        syncToProd: {
          ops: oursOps,
          wall: oursWall,
          top: topSyscalls(last.oursBy),
          startupOps: median(counted.map((c) => c.startup)),
          startupWall: median(timed.map((t) => t.startup)),
        },
        opsRatio: oursOps / rsyncOps,
        wallRatio: oursWall / rsyncWall,
        byProgram,
        counted: counted.map(({ filesPublished, rsync, ours, startup }) => ({
          filesPublished,
          rsync,
          ours,
          startup,
        })),
        timed,
      },
      null,
      1,
    ),
  );
} finally {
  if (!process.env.BENCH_KEEP) await rm(work, { recursive: true, force: true });
}
