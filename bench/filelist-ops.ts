/**
 * file-lists in file-system round trips: `releng-host file-lists` on a production of N files
 * (default 100,000: 90% under the category tree `mirror/pub/rocky`, 10% under `mirror/pub/sig`),
 * counted with bench/syscalls.ts over every process, node's start-up (`file-lists --help`)
 * subtracted.
 * - cold: `--full` (every list written from walks), against one `find -printf` of the root
 *   `mirror/pub` (target: at most 1.3x);
 * - incremental: the run after a publish-like change of 1% (new files in existing dirs, a new
 *   dir, a repomd.xml replaced by rename), against the cold run's ops (target: at most 0.05x).
 * Run: `npx tsx bench/filelist-ops.ts [--files N]`.
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { buildConfig } from '../shared/config/load.ts';
import { countOps, countOpsByProgram, topSyscalls, wallOf } from './syscalls.ts';

const args = process.argv.slice(2);
const files = Number(args[args.indexOf('--files') + 1] || 100_000) || 100_000;
const PER_DIR = 500;
const hostEntry = fileURLToPath(new URL('../bin/releng-host.mjs', import.meta.url));

const work = await mkdtemp(join(tmpdir(), 'bench-filelist-ops-'));
try {
  const config = buildConfig();
  const production = join(work, config.mounts.production);
  const pub = join(production, config.categoryStub, '..');
  const trees = [
    { dir: join(production, config.categoryStub), share: 0.9 },
    { dir: join(production, config.sigCategoryStub), share: 0.1 },
  ];
  let dirs = 0;
  for (const tree of trees) {
    const count = Math.round(files * tree.share);
    for (let d = 0; d * PER_DIR < count; d++, dirs++) {
      const dir = join(tree.dir, `Repo${d % 10}`, 'x86_64', 'os', 'Packages', `d${d}`);
      await mkdir(dir, { recursive: true });
      const writes: Promise<void>[] = [];
      for (let i = d * PER_DIR; i < Math.min(count, (d + 1) * PER_DIR); i++)
        writes.push(writeFile(join(dir, `pkg-${i}.rpm`), 'x'.repeat(i % 2000)));
      await Promise.all(writes);
    }
    for (let r = 0; r < 10; r++) {
      await mkdir(join(tree.dir, `Repo${r}`, 'x86_64', 'os', 'repodata'), { recursive: true });
      await writeFile(
        join(tree.dir, `Repo${r}`, 'x86_64', 'os', 'repodata', 'repomd.xml'),
        `<repomd>${r}</repomd>\n`,
      );
    }
  }
  const host = (...extra: string[]) => [process.execPath, hostEntry, 'file-lists', '--root', work, ...extra];
  const find = ['find', pub, '-printf', '%T@\\t%y\\t%s\\t%P\\n'];
  await countOps(host('--full')); // seeds the caches and tsx's transform cache; warms the tree
  const startup = await countOps(host('--help'));
  const findOps = await countOps(find);
  const cold = await countOps(host('--full'));
  const coldByProgram = await countOpsByProgram(host('--full'));

  // A publish of 1%: new packages in existing dirs, a new dir, one repomd.xml replaced by rename.
  const change = Math.round(files / 100);
  const category = trees[0]!.dir;
  for (let i = 0; i < change - 100; i++)
    await writeFile(
      join(category, `Repo${i % 10}`, 'x86_64', 'os', 'Packages', `d${i % 10}`, `new-${i}.rpm`),
      'n',
    );
  await mkdir(join(category, 'Repo0', 'x86_64', 'os', 'Packages', 'new'));
  for (let i = 0; i < 100; i++)
    await writeFile(join(category, 'Repo0', 'x86_64', 'os', 'Packages', 'new', `n-${i}.rpm`), 'n');
  const repomd = join(category, 'Repo1', 'x86_64', 'os', 'repodata', 'repomd.xml');
  await writeFile(`${repomd}.new`, '<repomd>new</repomd>\n');
  await rename(`${repomd}.new`, repomd);
  await sleep(2100); // past the racy window: what a run some seconds after a publish sees
  const incremental = await countOps(host());
  const coldWall = await wallOf(host('--full'));
  const startupWall = await wallOf(host('--help'));
  const findWall = await wallOf(find);
  const coldOps = cold.ops - startup.ops;
  const incrementalOps = incremental.ops - startup.ops;
  console.log(
    JSON.stringify(
      {
        files,
        dirs,
        findPrintfRoot: { ops: findOps.ops, wall: findWall, top: topSyscalls(findOps.bySyscall) },
        cold: {
          ops: coldOps,
          wall: coldWall - startupWall,
          top: topSyscalls(cold.bySyscall),
          byProgram: coldByProgram,
        },
        coldVsFind: coldOps / findOps.ops,
        incremental: { ops: incrementalOps, top: topSyscalls(incremental.bySyscall) },
        incrementalVsCold: incrementalOps / coldOps,
        startup: { ops: startup.ops, wall: startupWall },
      },
      null,
      1,
    ),
  );
} finally {
  if (!process.env.BENCH_KEEP) await rm(work, { recursive: true, force: true });
}
