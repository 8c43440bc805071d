/**
 * file-lists benchmark: writing one tree's quick-fedora-mirror lists (fullfilelist and the time
 * list, streamed) versus a bare `find` of the same tree, both run in this process on a warm
 * cache, start-up excluded (target: at most 2x). Peak memory is the process's max RSS, with
 * the RSS before the run for comparison: it must not grow with the tree.
 * A time list needs every entry's mtime and size, so one lstat per entry; a bare `find` reads
 * only directory entries (d_type). A second baseline, `find -printf` of the same four fields,
 * is the floor any correct time list has; both ratios are reported.
 * Run: `npx tsx bench/file-lists.ts [--files N]` (default 100,000).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTreeLists } from '../host/filelist/create-filelist.ts';

const args = process.argv.slice(2);
const files = Number(args[args.indexOf('--files') + 1] || 100_000) || 100_000;

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

async function makeTree(tree: string): Promise<void> {
  const perDir = 500;
  for (let d = 0; d * perDir < files; d++) {
    const dir = join(tree, `Repo${d % 10}`, 'x86_64', 'os', 'Packages', `d${d}`);
    await mkdir(dir, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = d * perDir; i < Math.min(files, (d + 1) * perDir); i++)
      writes.push(writeFile(join(dir, `pkg-${i}-1.0-1.el8.noarch.rpm`), 'x'.repeat(i % 2000)));
    await Promise.all(writes);
  }
  for (let r = 0; r < 10; r++) {
    await mkdir(join(tree, `Repo${r}`, 'x86_64', 'os', 'repodata'), { recursive: true });
    await writeFile(
      join(tree, `Repo${r}`, 'x86_64', 'os', 'repodata', 'repomd.xml'),
      `<repomd>${r}</repomd>\n`,
    );
  }
}

const work = await mkdtemp(join(tmpdir(), 'bench-filelists-'));
try {
  const tree = join(work, 'rocky');
  await makeTree(tree);
  const names = {
    timeList: 'fullfiletimelist-rocky',
    copies: ['fullfiletimelist', 'fullfiletimelist-rocky-linux'],
  };
  await drain(['find', tree, '-printf', '%T@\t%y\t%s\t%P\n']); // warm the cache for all
  const rssBefore = process.memoryUsage().rss;
  const listTimes: number[] = [];
  let entries = 0;
  for (let run = 0; run < 5; run++)
    listTimes.push(
      await timed(async () => {
        entries = (await writeTreeLists(tree, names)).entries;
      }),
    );
  // Peak memory of the list writing alone, before the baselines run in this process.
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const findTimes: number[] = [];
  const statTimes: number[] = [];
  for (let run = 0; run < 5; run++) {
    findTimes.push(await timed(() => drain(['find', tree])));
    statTimes.push(await timed(() => drain(['find', tree, '-printf', '%T@\t%y\t%s\t%P\n'])));
  }
  const result = {
    files,
    entries,
    findSeconds: median(findTimes),
    fileListsSeconds: median(listTimes),
    findPrintfSeconds: median(statTimes),
    ratioToBareFind: median(listTimes) / median(findTimes),
    ratioToFindPrintf: median(listTimes) / median(statTimes),
    rssBeforeMiB: Math.round(rssBefore / 2 ** 20),
    peakRssMiB: Math.round(peakRss / 2 ** 20),
  };
  console.log(JSON.stringify(result));
} finally {
  await rm(work, { recursive: true, force: true });
}
