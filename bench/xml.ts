/**
 * Reading createrepo_c metadata of a 20,000-package repo, in-process, three ways:
 *   regex:   the pattern matching prep-staging's append used before (the baseline);
 *   scan:    shared/xml/scan.ts as the append uses it now (primary entries with their
 *            location/size/time, plus the layout of filelists and other);
 *   library: a fast-xml-parser tree of primary.xml alone (why big files do not use it).
 * Alternating rounds; median wall and CPU time of each; ratios against the regex.
 *
 * Run: `npx tsx bench/xml.ts [--packages N] [--rounds N]`.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { XMLParser } from 'fast-xml-parser';
import { buildRpm } from '../cli/demo/rpm-tools.ts';
import { execFile } from '../host/framework/exec.ts';
import { mapLimit } from '../host/repo/parallel.ts';
import { parseRepomd } from '../host/repo/repomd.ts';
import { metadataLayout, primaryEntries } from '../shared/xml/repodata.ts';

const args = process.argv.slice(2);
const numberArg = (flag: string, fallback: number) => {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};

/** The previous reading, kept here only as the baseline. */
function regexRead(primary: string, filelists: string, other: string): number {
  let n = 0;
  for (const match of primary.matchAll(/<package type="rpm">([\s\S]*?)<\/package>/g)) {
    const body = match[1]!;
    if (
      /<location href="([^"]+)"/.exec(body) &&
      /<time file="([0-9]+)"/.exec(body) &&
      /<size package="([0-9]+)"/.exec(body)
    )
      n++;
  }
  for (const xml of [filelists, other])
    n += xml.indexOf('<package ') + xml.lastIndexOf('</package>') > 0 ? 0 : 1;
  return n;
}

function scanRead(primary: string, filelists: string, other: string): number {
  const { entries } = primaryEntries(primary);
  metadataLayout(filelists, 'filelists');
  metadataLayout(other, 'other');
  return entries.length;
}

function libraryRead(primary: string): number {
  const parsed = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (n) => n === 'package',
  }).parse(primary) as { metadata: { package: unknown[] } };
  return parsed.metadata.package.length;
}

function measure(fn: () => number): { wall: number; cpu: number } {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / 1e6 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const packages = numberArg('--packages', 20_000);
const rounds = numberArg('--rounds', 5);
const work = await mkdtemp(join(tmpdir(), 'bench-xml-'));
try {
  const built = await buildRpm(
    { name: 'bench-pkg', version: '1.0', release: '1.el8', arch: 'noarch' },
    join(work, 'rpmbuild'),
  );
  const repo = join(work, 'repo');
  await mkdir(join(repo, 'Packages'), { recursive: true });
  const names = Array.from(
    { length: packages },
    (_, i) => `bench-${String(i).padStart(6, '0')}-1.0-1.el8.noarch.rpm`,
  );
  await mapLimit(names, 16, (name) => copyFile(built.binaries[0]!, join(repo, 'Packages', name)));
  await execFile(['createrepo_c', '--quiet', '--no-database', repo]);
  const records = parseRepomd(await readFile(join(repo, 'repodata', 'repomd.xml'), 'utf8')).records;
  const text = async (type: string) =>
    gunzipSync(await readFile(join(repo, records.find((r) => r.type === type)!.href))).toString('utf8');
  const [primary, filelists, other] = await Promise.all(['primary', 'filelists', 'other'].map(text));
  const runs: Record<string, Array<{ wall: number; cpu: number }>> = { regex: [], scan: [], library: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? (['scan', 'regex'] as const) : (['regex', 'scan'] as const);
    for (const way of order)
      runs[way]!.push(measure(() => (way === 'regex' ? regexRead : scanRead)(primary!, filelists!, other!)));
    if (round < 2) runs.library!.push(measure(() => libraryRead(primary!)));
  }
  const summary = Object.fromEntries(
    Object.entries(runs).map(([way, list]) => [
      way,
      { wall: median(list.map((r) => r.wall)), cpu: median(list.map((r) => r.cpu)) },
    ]),
  );
  const base = summary.regex!;
  const mb = (s: string) => (s.length / 1e6).toFixed(1);
  console.log(
    `primary ${mb(primary!)} MB, filelists ${mb(filelists!)} MB, other ${mb(other!)} MB, ${(await readdir(join(repo, 'Packages'))).length} packages`,
  );
  for (const [way, r] of Object.entries(summary))
    console.log(
      `${way}: wall ${r.wall.toFixed(3)} s (${(r.wall / base.wall).toFixed(1)}x), cpu ${r.cpu.toFixed(3)} s (${(r.cpu / base.cpu).toFixed(1)}x)`,
    );
} finally {
  await rm(work, { recursive: true, force: true });
}
