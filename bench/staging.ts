/**
 * Staging benchmarks, each a ratio against a baseline run in the same process on the same tree:
 *   prep:  prep-staging after adding 50 packages to a repo of 20,000, versus one full
 *          createrepo_c of that repo with the same flags (target: at most 0.3x).
 *   sync:  sync-to-staging of a compose of 50,000 files into an empty staging, versus one
 *          plain `rsync -a` of the same tree (target: at most 1.2x).
 * Run: `npx tsx bench/staging.ts [prep|sync] [--packages N] [--files N]`.
 * Packages are copies of one real RPM under distinct names (createrepo_c reads every header);
 * the compose is a pungi-shaped tree of small files with real repodata per repo.
 */
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRpm } from '../cli/demo/rpm-tools.ts';
import { execFile } from '../host/framework/exec.ts';
import { main } from '../host/main.ts';
import { mapLimit } from '../host/repo/parallel.ts';
import { countOps, countOpsByProgram, topSyscalls } from './syscalls.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const which = args.find((a) => !a.startsWith('--') && !/^[0-9]+$/.test(a));
const numberArg = (flag: string, fallback: number) => {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function host(root: string, ...argv: string[]): Promise<void> {
  const out: string[] = [];
  const code = await main([argv[0]!, '--root', root, '--major', '8', ...argv.slice(1), '--json'], {
    stdout: (l) => out.push(l),
    stderr: () => {},
  });
  if (code !== 0) throw new Error(`${argv[0]} failed: ${out.at(-1)}`);
}

async function copies(template: string, dir: string, from: number, count: number): Promise<void> {
  const names = Array.from(
    { length: count },
    (_, i) => `bench-${String(from + i).padStart(6, '0')}-1.0-1.el8.noarch.rpm`,
  );
  await mapLimit(names, 16, async (name) => {
    const sub = join(dir, name[6]!);
    await mkdir(sub, { recursive: true });
    await copyFile(template, join(sub, name));
  });
}

async function benchPrep(work: string): Promise<Record<string, number>> {
  const packages = numberArg('--packages', 20_000);
  const built = await buildRpm(
    { name: 'bench-pkg', version: '1.0', release: '1.el8', arch: 'noarch' },
    join(work, 'rpmbuild'),
  );
  const repo = join(work, 'mnt/repos-staging/mirror/pub/rocky/8.7-RC1/extras/x86_64/os');
  await copies(built.binaries[0]!, join(repo, 'Packages'), 0, packages);
  await host(work, 'prep-staging'); // the repo's first metadata: what the 50 are added to
  await mkdir(join(work, 'full-out'));
  const full = await timed(() =>
    execFile([
      'createrepo_c',
      '--quiet',
      '--no-database',
      '--distro=cpe:/o:rocky:rocky:8,Rocky Linux 8',
      '--workers=12',
      '--checksum=sha256',
      '-o',
      join(work, 'full-out'),
      repo,
    ]),
  );
  await copies(built.binaries[0]!, join(repo, 'Packages'), packages, 50);
  const prep = await timed(() => host(work, 'prep-staging'));
  return { packages, fullCreaterepoSeconds: full, prepSeconds: prep, ratio: prep / full };
}

/** A pungi-shaped compose of `files` small files, its latest- link, and a config with syncJobs = cores. */
async function makeCompose(work: string, files: number) {
  const id = 'Rocky-8-updates-20260101.0';
  const composeRoot = join(work, 'mnt/compose/8');
  const tree = join(composeRoot, id, 'compose');
  const variants = ['BaseOS', 'AppStream', 'PowerTools', 'HighAvailability', 'ResilientStorage', 'RT', 'NFV'];
  const repos = variants.flatMap((v) => [
    `${v}/x86_64/os`,
    `${v}/aarch64/os`,
    `${v}/x86_64/debug/tree`,
    `${v}/aarch64/debug/tree`,
    `${v}/source/tree`,
  ]);
  const perRepo = Math.ceil(files / repos.length);
  await mapLimit(repos, 4, async (rel) => {
    for (let i = 0; i < perRepo; i++) {
      const dir = join(tree, rel, 'Packages', String.fromCharCode(97 + (i % 26)));
      if (i < 26) await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `pkg-${i}.rpm`), `${rel} ${i}\n`.repeat(40));
    }
    await mkdir(join(tree, rel, 'repodata'), { recursive: true });
    await writeFile(join(tree, rel, 'repodata', 'repomd.xml'), `<repomd>${rel}</repomd>\n`);
  });
  await mkdir(join(tree, 'metadata'), { recursive: true });
  await writeFile(join(tree, 'metadata', 'composeinfo.json'), '{}\n');
  await writeFile(join(composeRoot, id, 'COMPOSE_ID'), `${id}\n`);
  await writeFile(join(composeRoot, id, 'STATUS'), 'FINISHED\n');
  await symlink(id, join(composeRoot, 'latest-Rocky-8'));
  // Workers as many as cores: on a local disk more rsyncs only contend (on EFS the seed's 18
  // overlap network latency; syncJobs is a deployment setting).
  const config = join(work, 'releng.config.json');
  await writeFile(config, JSON.stringify({ syncJobs: availableParallelism() }));
  await execFile(['find', tree, '-type', 'f']); // warm the cache for both runs alike
  return { tree, config, perRepo, repos };
}

async function benchSync(work: string): Promise<Record<string, number>> {
  const { tree, config, perRepo, repos } = await makeCompose(work, numberArg('--files', 50_000));
  // The machine is shared and its speed swings between minutes: run the two back to back,
  // in alternating order, three times, and report the median of the per-round ratios.
  const plainRun = async () => {
    await rm(join(work, 'plain-copy'), { recursive: true, force: true });
    return measured(['rsync', '-a', `${tree}/`, join(work, 'plain-copy/')]);
  };
  const oursRun = async () => {
    await rm(join(work, 'mnt/repos-staging'), { recursive: true, force: true });
    const host = join(repoRoot, 'bin/releng-host.mjs');
    return measured([
      process.execPath,
      host,
      'sync-to-staging',
      '--root',
      work,
      '--config',
      config,
      '--major',
      '8',
      '--compose',
      'Rocky',
    ]);
  };
  const rounds: { plain: Measured; ours: Measured }[] = [];
  for (let round = 0; round < 3; round++) {
    if (round % 2 === 0) {
      const plain = await plainRun();
      rounds.push({ plain, ours: await oursRun() });
    } else {
      const ours = await oursRun();
      rounds.push({ ours, plain: await plainRun() });
    }
  }
  const median = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
  return {
    files: repos.length * perRepo,
    plainRsyncSeconds: median(rounds.map((r) => r.plain.wall)),
    syncSeconds: median(rounds.map((r) => r.ours.wall)),
    cpuRatio: median(rounds.map((r) => r.ours.cpu / r.plain.cpu)),
    ratio: median(rounds.map((r) => r.ours.wall / r.plain.wall)),
    ...Object.fromEntries(
      rounds.map((r, i) => [
        `round${i}`,
        `${r.plain.wall.toFixed(2)}s plain, ${r.ours.wall.toFixed(2)}s ours`,
      ]),
    ),
  };
}

/**
 * sync-to-staging in file-system round trips (bench/syscalls.ts, every process) against one
 * plain `rsync -a` of the same compose into an empty dir (target: at most 1.1x); node's
 * start-up (`sync-to-staging --help`) is subtracted.
 */
async function benchSyncOps(work: string): Promise<Record<string, number>> {
  const { tree, config, perRepo, repos } = await makeCompose(work, numberArg('--files', 50_000));
  const hostArgv = (...argv: string[]) => [process.execPath, join(repoRoot, 'bin/releng-host.mjs'), ...argv];
  const ours = hostArgv(
    'sync-to-staging',
    '--root',
    work,
    '--config',
    config,
    '--major',
    '8',
    '--compose',
    'Rocky',
  );
  const startup = await countOps(hostArgv('sync-to-staging', '--help'));
  const plain = await countOps(['rsync', '-a', `${tree}/`, join(work, 'plain-copy/')]);
  const counted = await countOps(ours);
  await rm(join(work, 'mnt/repos-staging'), { recursive: true, force: true });
  const byProgram = await countOpsByProgram(ours);
  console.log(`sync-ops: plain ${topSyscalls(plain.bySyscall)}; ours ${topSyscalls(counted.bySyscall)}`);
  console.log(`sync-ops by program: ${JSON.stringify(byProgram)}`);
  return {
    files: repos.length * perRepo,
    plainRsyncOps: plain.ops,
    syncOps: counted.ops - startup.ops,
    startupOps: startup.ops,
    ratio: (counted.ops - startup.ops) / plain.ops,
  };
}

interface Measured {
  wall: number;
  cpu: number;
}

/** Runs argv under bash and reads the children's CPU time from `times`. */
async function measured(argv: string[]): Promise<Measured> {
  const quoted = argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  let result: { stdout: string } = { stdout: '' };
  const wall = await timed(async () => {
    result = await execFile(['bash', '-c', `${quoted} >/dev/null 2>&1 || exit 1; times`]);
  });
  const children = result.stdout.trim().split('\n').at(-1)!;
  const seconds = [...children.matchAll(/([0-9]+)m([0-9.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { wall, cpu: seconds.reduce((a, b) => a + b, 0) };
}

const results: Record<string, Record<string, number>> = {};
for (const [name, fn, limit] of [
  ['prep', benchPrep, 0.3],
  ['sync', benchSync, 1.2],
  ['sync-ops', benchSyncOps, 1.1],
] as const) {
  if (which ? which !== name : name === 'sync-ops') continue;
  const work = await mkdtemp(join(tmpdir(), `bench-staging-${name}-`));
  try {
    results[name] = await fn(work);
    const r = results[name]!;
    console.log(
      `${name}: ${JSON.stringify(r)} -> ratio ${r.ratio!.toFixed(3)} (target <= ${limit}) ${r.ratio! <= limit ? 'PASS' : 'FAIL'}`,
    );
  } finally {
    if (!process.env.BENCH_KEEP) await rm(work, { recursive: true, force: true });
  }
}
