/**
 * Production publish benchmark: an incremental sync-to-prod (1% of a 50,000-file release
 * changed: new and rewritten packages in every repo, each repo with a new signed repomd.xml)
 * versus one plain `rsync -a` of the same change into a copy of production, both in this
 * process on a warm cache (target: at most 1.5x). The publish includes everything it does:
 * recomputing the staged content digest (every file stat'ed, the ones changed since
 * verify-staging's hash cache re-read: the approval guarantee),
 * the guard's dry run, the three ordered passes, rollback records and hardlink; the digest's
 * share is reported apart. Three rounds; medians.
 * Run: `npx tsx bench/production.ts [--files N]` (default 50,000).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey } from '../cli/demo/rpm-tools.ts';
import { execFile } from '../host/framework/exec.ts';
import { main } from '../host/main.ts';
import {
  computeStagedContent,
  contentDigest,
  hashCacheFiles,
  readHashCache,
  writeHashCache,
} from '../host/repo/manifest.ts';
import { buildConfig } from '../shared/config/load.ts';
import { releasePaths, resolveRelease } from '../shared/release.ts';
import { approveStaged, publishArgs, signRepomd, testConfigFile } from '../test/host-production/fixtures.ts';

const args = process.argv.slice(2);
const files = Number(args[args.indexOf('--files') + 1] || 50_000) || 50_000;
const REPOS = 10;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const work = await mkdtemp(join(tmpdir(), 'bench-production-'));
try {
  const root = join(work, 'root');
  const release = resolveRelease(buildConfig(), { major: '8', revision: '8.10' });
  const paths = releasePaths(buildConfig(), root, release);
  const staging = paths.stagingRelease;
  const key = await generateSigningKey(join(work, 'gnupg'), 'Bench <bench@rocky.invalid>');
  const repoDir = (r: number) => join(staging, `Repo${r}`, 'x86_64', 'os');
  const pkg = (r: number, i: number) =>
    join(repoDir(r), 'Packages', `p${i % 26}`, `pkg-${i}-1.0-1.el8.noarch.rpm`);

  async function writePackages(r: number, from: number, to: number, salt: string): Promise<void> {
    const writes: Promise<void>[] = [];
    for (let i = from; i < to; i++)
      writes.push(writeFile(pkg(r, i), `${salt}${'x'.repeat(500 + (i % 1500))}`));
    await Promise.all(writes);
  }
  async function writeRepodata(r: number, revision: number): Promise<void> {
    await mkdir(join(repoDir(r), 'repodata'), { recursive: true });
    await writeFile(
      join(repoDir(r), 'repodata', 'repomd.xml'),
      `<?xml version="1.0"?>\n<repomd><revision>${revision}</revision></repomd>\n`,
    );
    await signRepomd(key, repoDir(r));
  }

  const perRepo = Math.floor(files / REPOS);
  for (let r = 0; r < REPOS; r++) {
    for (let l = 0; l < 26; l++) await mkdir(join(repoDir(r), 'Packages', `p${l}`), { recursive: true });
    await writePackages(r, 0, perRepo, 'v0');
    await writeRepodata(r, 0);
  }

  // What a passing verify-staging leaves on the host before an approval: its record and caches.
  const publicKey = join(work, 'bench-key.asc');
  await writeFile(
    publicKey,
    (
      await execFile(['gpg', '--armor', '--export', key.keyId], {
        env: { ...process.env, GNUPGHOME: key.gpgHome },
      })
    ).stdout,
  );
  const approvedDigest = () => approveStaged(root, { key, publicKey, rpms: {} });
  const publish = async (digest: string) => {
    const out: string[] = [];
    const code = await main(
      ['sync-to-prod', '--root', root, '--config', testConfigFile(root), ...publishArgs(digest), '--json'],
      {
        stdout: (l) => out.push(l),
        stderr: () => {},
      },
    );
    if (code !== 0) throw new Error(`sync-to-prod failed: ${out.at(-1)}`);
    return JSON.parse(out.at(-1)!).seconds as { verifyAndScan: number; publish: number };
  };
  await publish(await approvedDigest());
  const baseline = join(work, 'baseline');
  await execFile(['cp', '-a', paths.productionRelease, baseline]);

  const rounds: Array<{ rsync: number; total: number; verifyAndScan: number; publish: number }> = [];
  let next = perRepo;
  for (let round = 1; round <= 3; round++) {
    // 1% of the release: in each repo, new packages and a few rewritten ones, and new metadata.
    const change = Math.floor(files / 100 / REPOS);
    for (let r = 0; r < REPOS; r++) {
      await writePackages(r, next, next + change - 2, `v${round}`);
      await writePackages(r, round * 10, round * 10 + 2, `v${round}-rebuilt`);
      await writeRepodata(r, round);
    }
    next += change;
    await execFile(['sync']);
    const rsync = await timed(() => execFile(['rsync', '-a', `${staging}/`, `${baseline}/`]));
    // What verify-staging computed and the approval names; sync-to-prod recomputes it inside.
    const approved = await approvedDigest();
    let inside = { verifyAndScan: 0, publish: 0 };
    const total = await timed(async () => {
      inside = await publish(approved);
    });
    rounds.push({ rsync, total, ...inside });
  }
  const rsync = median(rounds.map((r) => r.rsync));
  const total = median(rounds.map((r) => r.total));
  const passes = median(rounds.map((r) => r.publish));
  console.log(
    JSON.stringify({
      files,
      changedPerRound: Math.floor(files / 100),
      plainRsyncSeconds: rsync,
      publishSeconds: total,
      ratio: total / rsync,
      verifyDigestAndScanSeconds: median(rounds.map((r) => r.verifyAndScan)),
      publishPassesSeconds: passes,
      ratioPassesOnly: passes / rsync,
      rounds,
    }),
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
