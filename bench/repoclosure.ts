/**
 * What the dependency-closure check costs verify-staging, each a ratio in the same run:
 *   demo:  the demo's staged release (real RPMs, compose, sync, prep, sign): the closure check
 *          alone against the whole verify-staging run (which includes it).
 *   large: a generated release of N packages per arch (BaseOS, AppStream, PowerTools, extras,
 *          plus; x86_64 and aarch64) whose metadata is written directly (dnf repoclosure reads
 *          only repodata): checkClosure's sets (the base, then each add-on against it) against
 *          one plain `dnf repoclosure` over all repos of each arch, the least a solver pass costs.
 * Run: `npx tsx bench/repoclosure.ts [demo|large] [--packages N] [--rounds N]`.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createPackageStore } from '../cli/demo/package-store.ts';
import { createContext } from '../host/framework/context.ts';
import { execFile } from '../host/framework/exec.ts';
import { parseOperationArgs } from '../host/framework/options.ts';
import { main } from '../host/main.ts';
import { checkClosure } from '../host/repo/repoclosure.ts';
import { buildConfig } from '../shared/config/load.ts';
import type { MajorSettings } from '../shared/config/schema.ts';
import { systemClock } from '../shared/ports.ts';
import { checkedArches } from '../shared/repoclosure.ts';

const args = process.argv.slice(2);
const which = args.find((a) => !a.startsWith('--') && !/^[0-9]+$/.test(a));
const numberArg = (flag: string, fallback: number) => {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const rounds = numberArg('--rounds', 3);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const fmt = (s: number) => `${s.toFixed(2)} s`;

function quietContext(root: string) {
  return createContext({
    operation: 'verify-staging',
    config: buildConfig(),
    root,
    dryRun: true,
    options: parseOperationArgs('verify-staging', ['--root', root, '--major', '8']),
    clock: systemClock,
    progress: () => {},
  });
}

async function closure(root: string, settings: MajorSettings, tree: string, osRepos: string[], parallel = 2) {
  const scratch = await mkdtemp(join(root, 'scratch-'));
  try {
    const { report, problems } = await checkClosure(
      quietContext(root),
      settings,
      '8',
      tree,
      osRepos,
      scratch,
      { parallel },
    );
    if (report.status !== 'passed')
      throw new Error(`closure ${report.status}: ${problems.slice(0, 3).join('; ')}`);
    return report;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function benchDemo(work: string): Promise<void> {
  const store = await createPackageStore({ root: work, major: '8' });
  const host = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await main(
      [argv[0]!, '--root', work, '--config', store.configPath, '--major', '8', ...argv.slice(1), '--json'],
      {
        stdout: (l) => out.push(l),
        stderr: () => {},
      },
    );
    if (code !== 0) throw new Error(`${argv[0]} failed: ${out.at(-1)}`);
  };
  await host('compose', '--compose', 'Rocky', '--kind', 'updates');
  await host('sync-to-staging', '--compose', 'Rocky');
  await host('prep-staging');
  await host('sign-repos');
  const tree = join(work, 'mnt/repos-staging/mirror/pub/rocky/8.7-RC1');
  const settings = { ...buildConfig().majors['8']!, arches: ['x86_64', 'aarch64'] };
  const osRepos = ['BaseOS', 'AppStream', 'PowerTools'].flatMap((r) =>
    settings.arches.map((a) => `${r}/${a}/os`),
  );
  const rows: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    const verify = await timed(() => host('verify-staging'));
    const alone = await timed(() => closure(work, settings, tree, osRepos));
    rows.push(`| ${round} | ${fmt(verify)} | ${fmt(alone)} | ${(alone / verify).toFixed(2)} |`);
  }
  console.log('demo: verify-staging (whole run, closure included) and the closure check alone (4 sets)');
  console.log('| round | verify-staging | closure check | share |\n|---|---|---|---|');
  console.log(rows.join('\n'));
}

const REPOS: Array<[string, number]> = [
  ['BaseOS', 0.3],
  ['AppStream', 0.5],
  ['PowerTools', 0.1],
  ['extras', 0.05],
  ['plus', 0.05],
];

/** primary.xml of `count` packages: each provides a soname, requires 3 of the base's. */
function primaryXml(repo: string, arch: string, count: number, baseCount: number): string {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${count}">`,
  ];
  for (let i = 0; i < count; i++) {
    const name = `gen-${repo.toLowerCase()}-${i}`;
    const pkgArch = i % 2 ? 'noarch' : arch;
    const dep = (k: number) => `gen-baseos-${(i * 7 + k * 13) % baseCount}`;
    const requires =
      repo === 'BaseOS' && i < 3
        ? []
        : [dep(1), dep(2), `libgen-baseos-${(i * 3) % baseCount}.so.1()(64bit)`];
    const id = createHash('sha256').update(`${repo}/${arch}/${name}`).digest('hex');
    out.push(
      `<package type="rpm"><name>${name}</name><arch>${pkgArch}</arch><version epoch="0" ver="1.0" rel="1.el8"/>`,
      `<checksum type="sha256" pkgid="YES">${id}</checksum><summary>${name}</summary><description>${name}</description>`,
      `<packager/><url/><time file="1" build="1"/><size package="1" installed="1" archive="1"/>`,
      `<location href="Packages/${name}-1.0-1.el8.${pkgArch}.rpm"/><format><rpm:license>MIT</rpm:license>`,
      `<rpm:sourcerpm>${name}-1.0-1.el8.src.rpm</rpm:sourcerpm><rpm:provides>`,
      `<rpm:entry name="${name}" flags="EQ" epoch="0" ver="1.0" rel="1.el8"/>`,
      `<rpm:entry name="lib${name}.so.1()(64bit)"/></rpm:provides>`,
      requires.length
        ? `<rpm:requires>${requires.map((r) => `<rpm:entry name="${r}"/>`).join('')}</rpm:requires>`
        : '',
      '</format></package>',
    );
  }
  out.push('</metadata>', '');
  return out.join('\n');
}

async function writeRepo(dir: string, xml: string): Promise<void> {
  const gz = gzipSync(Buffer.from(xml));
  const sum = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const href = `repodata/${sum(gz)}-primary.xml.gz`;
  await mkdir(join(dir, 'repodata'), { recursive: true });
  await writeFile(join(dir, href), gz);
  await writeFile(
    join(dir, 'repodata/repomd.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1</revision>
  <data type="primary">
    <checksum type="sha256">${sum(gz)}</checksum>
    <open-checksum type="sha256">${sum(Buffer.from(xml))}</open-checksum>
    <location href="${href}"/>
    <timestamp>1</timestamp>
    <size>${gz.length}</size>
    <open-size>${Buffer.byteLength(xml)}</open-size>
  </data>
</repomd>
`,
  );
}

async function benchLarge(work: string): Promise<void> {
  const perArch = numberArg('--packages', 20_000);
  const settings = { ...buildConfig().majors['8']!, arches: ['x86_64', 'aarch64'] };
  const tree = join(work, 'tree');
  const osRepos: string[] = [];
  const baseCount = Math.round(perArch * REPOS[0]![1]);
  for (const arch of settings.arches) {
    for (const [repo, share] of REPOS) {
      const rel = `${repo}/${arch}/os`;
      osRepos.push(rel);
      await writeRepo(join(tree, rel), primaryXml(repo, arch, Math.round(perArch * share), baseCount));
    }
  }
  // The least one solver pass costs: one dnf repoclosure over every repo of the arch at once.
  const plain = async () => {
    for (const arch of settings.arches) {
      const scratch = await mkdtemp(join(work, 'plain-'));
      await writeFile(join(scratch, 'dnf.conf'), '[main]\n');
      await execFile([
        'dnf',
        '-q',
        `--config=${join(scratch, 'dnf.conf')}`,
        `--installroot=${join(scratch, 'root')}`,
        '--releasever=8',
        `--forcearch=${arch}`,
        '--setopt=reposdir=/dev/null',
        `--setopt=cachedir=${join(scratch, 'cache')}`,
        '--setopt=module_platform_id=platform:el8',
        ...REPOS.map(([r]) => `--repofrompath=${r},${join(tree, r, arch, 'os')}`),
        'repoclosure',
        ...checkedArches(arch).map((a) => `--arch=${a}`),
      ]);
      await rm(scratch, { recursive: true, force: true });
    }
  };
  const rows: string[] = [];
  const ratios: number[][] = [[], []];
  for (let round = 1; round <= rounds; round++) {
    // Alternate which runs first, so neither always gets the warmer page cache.
    const runs: Array<[string, () => Promise<unknown>]> = [
      ['plain', plain],
      ['serial', () => closure(work, settings, tree, osRepos, 1)],
      ['parallel', () => closure(work, settings, tree, osRepos, 2)],
    ];
    if (round % 2 === 0) runs.reverse();
    const t: Record<string, number> = {};
    for (const [name, fn] of runs) t[name] = await timed(fn);
    ratios[0]!.push(t.serial! / t.plain!);
    ratios[1]!.push(t.parallel! / t.plain!);
    rows.push(
      `| ${round} | ${fmt(t.plain!)} | ${fmt(t.serial!)} (${(t.serial! / t.plain!).toFixed(2)}x) | ${fmt(t.parallel!)} (${(t.parallel! / t.plain!).toFixed(2)}x) |`,
    );
  }
  console.log(`large: ${perArch} packages per arch, 2 arches, 5 repos each (8 sets)`);
  console.log(
    '| round | one dnf repoclosure per arch | checkClosure, arches in turn | checkClosure, 2 arches at once |\n|---|---|---|---|',
  );
  console.log(rows.join('\n'));
  console.log(
    `median ratios: in turn ${median(ratios[0]!).toFixed(2)}x, 2 at once ${median(ratios[1]!).toFixed(2)}x`,
  );
}

const work = await mkdtemp(join(tmpdir(), 'releng-bench-repoclosure-'));
try {
  if (!which || which === 'demo') await benchDemo(join(work, 'demo'));
  if (!which || which === 'large') await benchLarge(join(work, 'large'));
} finally {
  await rm(work, { recursive: true, force: true });
}
