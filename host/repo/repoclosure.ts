import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MajorSettings } from '../../shared/config/schema.ts';
import { type ClosureSet, checkedArches, closureSets, describeSet } from '../../shared/repoclosure.ts';
import type { OperationContext } from '../framework/context.ts';
import { CommandError } from '../framework/exec.ts';
import { mapLimit } from './parallel.ts';

/**
 * The dependency-closure check, with `dnf repoclosure` (dnf-plugins-core) as the solver: it
 * reads the repos' own repodata, resolves with libsolv (rich and file dependencies included) and
 * names every unmet requirement. libsolv's installcheck was the alternative; dnf is what the
 * compose host installs (host bootstrap, doctor) and needs no .solv conversion step.
 * No solver is a failure of verification, never a pass.
 */

export const SOLVER = 'dnf repoclosure' as const;

export interface Unresolved {
  /** `app-1-1.x86_64` */
  package: string;
  repo: string;
  missing: string[];
}

export interface SetReport {
  arch: string;
  repos: string[];
  checked: string[];
  unresolved: Unresolved[];
  seconds: number;
}

export class SolverMissingError extends Error {
  override readonly name = 'SolverMissingError';
}

/**
 * dnf repoclosure's report: `package: N-V-R.A from REPO`, `  unresolved deps (K):`, then one
 * requirement per indented line.
 */
export function parseRepoclosure(stdout: string): Unresolved[] {
  const found: Unresolved[] = [];
  let current: Unresolved | undefined;
  for (const line of stdout.split('\n')) {
    const head = /^package: (\S+) from (\S+)$/.exec(line);
    if (head) {
      current = { package: head[1]!, repo: head[2]!, missing: [] };
      found.push(current);
    } else if (current && /^ {4}\S/.test(line)) current.missing.push(line.trim());
  }
  return found;
}

/** dnf's argv for one set: an empty installroot, only these repos, modular filtering off. */
export function repoclosureArgv(
  set: ClosureSet,
  repoDirs: Record<string, string>,
  major: string,
  scratch: string,
): string[] {
  return [
    'dnf',
    '-q',
    `--config=${join(scratch, 'dnf.conf')}`,
    `--installroot=${join(scratch, 'root')}`,
    `--releasever=${major}`,
    // The set's arch, not the host's: an aarch64 set on an x86_64 host resolves as aarch64.
    `--forcearch=${set.arch}`,
    '--setopt=reposdir=/dev/null',
    `--setopt=cachedir=${join(scratch, 'cache')}`,
    `--setopt=module_platform_id=platform:el${major}`,
    // Only the set's repos: --repo disables every other, and Debian's dnf-plugins-core enables a
    // `local` plugin that adds a _dnf_local repo of packages dnf once installed on this host.
    '--disableplugin=local',
    // As a file:// URL: dnf cannot read a plain path with a space (`release work/root`).
    ...set.repos.map((r) => `--repofrompath=${r},${pathToFileURL(repoDirs[r]!).href}`),
    ...set.repos.map((r) => `--repo=${r}`),
    // Every stream's packages count, modular or not: module_hotfixes turns the filtering off.
    ...set.repos.map((r) => `--setopt=${r}.module_hotfixes=true`),
    'repoclosure',
    ...set.check.map((r) => `--check=${r}`),
    ...checkedArches(set.arch).map((a) => `--arch=${a}`),
  ];
}

/** Runs the solver on one set. `scratch` is reused across sets of an arch (dnf's .solv cache). */
export async function closeSet(
  ctx: OperationContext,
  set: ClosureSet,
  repoDirs: Record<string, string>,
  major: string,
  scratch: string,
): Promise<SetReport> {
  await mkdir(join(scratch, 'root'), { recursive: true });
  await writeFile(join(scratch, 'dnf.conf'), '[main]\n');
  const start = process.hrtime.bigint();
  let result: Awaited<ReturnType<OperationContext['read']>>;
  try {
    result = await ctx.read(repoclosureArgv(set, repoDirs, major, scratch), { okCodes: [0, 1] });
  } catch (err) {
    const message = err instanceof CommandError ? err.message : String((err as Error).message);
    if (/cannot run dnf/.test(message))
      throw new SolverMissingError(`${SOLVER}: dnf is not installed or not on PATH (${message})`);
    throw new Error(`${SOLVER} ${describeSet(set)}: ${message}`);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (/No such command: repoclosure/.test(result.stderr))
    throw new SolverMissingError(`${SOLVER}: dnf has no repoclosure command (install dnf-plugins-core)`);
  const unresolved = parseRepoclosure(result.stdout);
  // Exit 1 with nothing parsed is dnf failing, not a verdict: never read it as closed.
  if (result.code !== 0 && unresolved.length === 0)
    throw new Error(
      `${SOLVER} ${describeSet(set)} exited ${result.code}: ${(result.stderr || result.stdout).trim().split('\n').slice(-5).join(' | ')}`,
    );
  return { arch: set.arch, repos: set.repos, checked: set.check, unresolved, seconds };
}

/** One sentence per package with unmet requirements. */
export function closureProblems(report: SetReport): string[] {
  return report.unresolved.map(
    (u) =>
      `repoclosure ${report.arch}: ${u.package} in ${u.repo} requires ${u.missing.join(', ')}, which nothing in ${report.repos.join(', ')} provides`,
  );
}

export interface ClosureReport {
  solver: typeof SOLVER;
  status: 'passed' | 'failed' | 'solver missing';
  sets: SetReport[];
  seconds: number;
}

export interface ClosureOptions {
  /**
   * Another tree whose base repos (`repoclosureBase`) the checked repos may use but which is not
   * checked itself: a SIG's packages close against its release's BaseOS and AppStream.
   */
  base?: { tree: string; osRepos: string[] };
  /** The repo name of a tree whose repos are `<arch>/os` (a SIG's tree: the SIG). */
  name?: string;
  /** Arches closed side by side. */
  parallel?: number;
}

/** The sets of one arch, in order, sharing one scratch dir (dnf's .solv cache). */
async function closeArch(
  ctx: OperationContext,
  settings: MajorSettings,
  major: string,
  dirs: Record<string, string>,
  arch: string,
  scratch: string,
  own: ReadonlySet<string>,
): Promise<{ sets: SetReport[]; problems: string[]; solverMissing: boolean }> {
  const sets: SetReport[] = [];
  const problems: string[] = [];
  // Sets that check only repos of another tree (a SIG's base release) were checked there.
  const mine = closureSets(settings, arch, Object.keys(dirs)).filter((set) =>
    set.check.some((r) => own.has(r)),
  );
  for (const set of mine) {
    try {
      const report = await closeSet(ctx, set, dirs, major, scratch);
      sets.push(report);
      problems.push(...closureProblems(report));
    } catch (err) {
      problems.push((err as Error).message);
      if (err instanceof SolverMissingError) return { sets, problems, solverMissing: true };
    }
  }
  return { sets, problems, solverMissing: false };
}

/**
 * Every set of every arch of a staged release (`osRepos`: `BaseOS/x86_64/os`, … relative to
 * `tree`). Arches run side by side (each its own scratch dir under `scratchParent`), up to
 * `parallel` at once; each arch's sets run in turn, reusing the .solv cache of the base repos.
 */
export async function checkClosure(
  ctx: OperationContext,
  settings: MajorSettings,
  major: string,
  tree: string,
  osRepos: string[],
  scratchParent: string,
  options: ClosureOptions = {},
): Promise<{ report: ClosureReport; problems: string[] }> {
  const start = process.hrtime.bigint();
  const { base, parallel = Math.min(availableParallelism(), 4) } = options;
  const perArch = await mapLimit(settings.arches, parallel, (arch) => {
    const dirs: Record<string, string> = {};
    const add = (from: string, rels: string[], only?: readonly string[]) => {
      for (const rel of rels) {
        // A SIG tree's repos are `<arch>/os`: the SIG names them.
        const parts = rel.split('/');
        const [name, repoArch, kind] = parts.length === 2 && options.name ? [options.name, ...parts] : parts;
        if (name && repoArch === arch && kind === 'os' && (!only || only.includes(name)))
          dirs[name] = join(from, rel);
      }
    };
    if (base) add(base.tree, base.osRepos, settings.repoclosureBase);
    add(tree, osRepos);
    const own = new Set(Object.keys(dirs).filter((name) => dirs[name]!.startsWith(`${tree}/`)));
    return closeArch(ctx, settings, major, dirs, arch, join(scratchParent, arch), own);
  });
  const sets = perArch.flatMap((a) => a.sets);
  const missing = perArch.find((a) => a.solverMissing);
  // No solver: one problem says so (every arch would say the same).
  const problems = missing ? missing.problems.slice(-1) : perArch.flatMap((a) => a.problems);
  const status: ClosureReport['status'] = missing ? 'solver missing' : problems.length ? 'failed' : 'passed';
  ctx.log(
    `repoclosure: ${sets.length} repo sets closed with ${SOLVER} (${status}): ${sets.map((s) => describeSet({ arch: s.arch, repos: s.repos, check: s.checked })).join('; ')}`,
  );
  return {
    report: { solver: SOLVER, status, sets, seconds: Number(process.hrtime.bigint() - start) / 1e9 },
    problems,
  };
}

/**
 * The report in a few hundred bytes for the operation's result line (the manifest keeps the
 * whole report): each set as `x86_64 extras (with BaseOS, AppStream)`, and how many packages
 * have unmet requirements.
 */
export function closureSummary(report: ClosureReport) {
  return {
    solver: report.solver,
    status: report.status,
    seconds: Math.round(report.seconds * 1000) / 1000,
    sets: report.sets.map((s) => describeSet({ arch: s.arch, repos: s.repos, check: s.checked })),
    unresolvedPackages: report.sets.reduce((n, s) => n + s.unresolved.length, 0),
  };
}
