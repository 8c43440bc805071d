import { existsSync } from 'node:fs';
import { stat, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorMessage } from '../../shared/errors.ts';
import type { OperationContext } from '../framework/context.ts';
import { CommandError, execFile } from '../framework/exec.ts';
import { inspectTrees } from '../framework/mounts.ts';
import type { TreeName } from '../framework/operation.ts';
import { signingKeyIds } from '../signing/configured.ts';
import { keyMatches, secretKeysIn } from '../signing/keys.ts';
import { probeWithCache } from './tool-cache.ts';

/**
 * What `releng-host doctor` checks, each returning rows for the report and the problems that
 * make it fail. `compose-host` tools are required where the config says this is a compose host
 * (host.requireMounts, as on AWS): pungi-koji for composes. Elsewhere the local engine stands
 * in for it. dnf's repoclosure is required everywhere: verify-staging fails without a solver.
 */
export type Need = 'required' | 'compose-host' | 'optional';

interface ToolSpec {
  tool: string;
  argv: string[];
  need: Need;
  usedBy: string;
  /** A dnf plugin the command needs: its module file keys the remembered row too. */
  dnfPlugin?: string;
}

const TOOLS: readonly ToolSpec[] = [
  {
    tool: 'createrepo_c',
    argv: ['createrepo_c', '--version'],
    need: 'required',
    usedBy: 'compose, prep-staging',
  },
  {
    tool: 'modifyrepo_c',
    argv: ['modifyrepo_c', '--version'],
    need: 'required',
    usedBy: 'apply-updateinfo, prep-staging',
  },
  {
    tool: 'gpg',
    argv: ['gpg', '--version'],
    need: 'required',
    usedBy: 'sign-repos, verify-staging, install-signing-key',
  },
  { tool: 'rsync', argv: ['rsync', '--version'], need: 'required', usedBy: 'sync-to-staging, sync-to-prod' },
  {
    tool: 'git',
    argv: ['git', '--version'],
    need: 'required',
    usedBy: 'compose, prep-staging (pungi config, comps, modules)',
  },
  { tool: 'hardlink', argv: ['hardlink', '--version'], need: 'required', usedBy: 'sync-to-prod' },
  // mktorrent has no --version; -h prints it on the first line.
  { tool: 'mktorrent', argv: ['mktorrent', '-h'], need: 'required', usedBy: 'torrents' },
  { tool: 'find', argv: ['find', '--version'], need: 'required', usedBy: 'file-lists' },
  { tool: 'findmnt', argv: ['findmnt', '--version'], need: 'required', usedBy: 'mount checks' },
  {
    tool: 'pungi-koji',
    argv: ['pungi-koji', '--version'],
    need: 'compose-host',
    usedBy: 'compose (pungi engine)',
  },
  { tool: 'rpm', argv: ['rpm', '--version'], need: 'compose-host', usedBy: 'pungi' },
  { tool: 'dnf', argv: ['dnf', '--version'], need: 'required', usedBy: 'verify-staging (repoclosure)' },
  {
    tool: 'dnf repoclosure',
    argv: ['dnf', 'repoclosure', '--help'],
    need: 'required',
    usedBy: 'verify-staging',
    dnfPlugin: 'repoclosure',
  },
  { tool: 'rpmsign', argv: ['rpmsign', '--version'], need: 'optional', usedBy: 'signing packages by hand' },
  {
    tool: 'rpmbuild',
    argv: ['rpmbuild', '--version'],
    need: 'optional',
    usedBy: 'building packages (the demo)',
  },
];

export interface ToolRow {
  tool: string;
  need: Need;
  found: boolean;
  version?: string;
  usedBy: string;
}

const firstLine = (text: string) => (text.split('\n').find((l) => l.trim()) ?? '').trim().slice(0, 100);

/** Runs a tool's version command: found when it ran at all, whatever it exited with. */
async function probe(spec: ToolSpec, env?: NodeJS.ProcessEnv): Promise<ToolRow> {
  const row: ToolRow = { tool: spec.tool, need: spec.need, found: false, usedBy: spec.usedBy };
  try {
    const result = await execFile(spec.argv, { env });
    return { ...row, found: true, version: firstLine(result.stdout || result.stderr) };
  } catch (err) {
    if (!(err instanceof CommandError)) return row; // could not run: not on PATH
    const out = `${err.result.stdout}\n${err.result.stderr}`;
    // dnf without the plugin answers "No such command: repoclosure".
    if (/No such command/.test(out)) return row;
    return { ...row, found: true, version: firstLine(err.result.stdout || err.result.stderr) };
  }
}

export async function checkTools(ctx: OperationContext, problems: string[]): Promise<ToolRow[]> {
  const composeHost = ctx.config.host.requireMounts;
  // Remembered for minutes per host while each tool's executable (and plugin) is unchanged.
  const rows = await probeWithCache(
    TOOLS.map((spec) => ({
      name: spec.tool,
      source: { command: spec.argv[0]!, ...(spec.dnfPlugin ? { dnfPlugin: spec.dnfPlugin } : {}) },
      probe: () => probe(spec, ctx.env),
    })),
    { root: ctx.root, env: ctx.env ?? process.env, now: ctx.clock.now().getTime(), remember: !ctx.dryRun },
  );
  rows.push({ tool: 'node', need: 'required', found: true, version: process.version, usedBy: 'releng-host' });
  for (const row of rows) {
    if (row.found) continue;
    if (row.need === 'required' || (row.need === 'compose-host' && composeHost))
      problems.push(`${row.tool} is not installed or not on PATH (needed by ${row.usedBy})`);
  }
  return rows;
}

export interface TreeRow {
  tree: TreeName;
  path: string;
  exists: boolean;
  mounted: boolean;
  fstype?: string;
  source?: string;
  freeGiB?: number;
  problem?: string;
}

/** Free space where `path` is, or where it would be created (its nearest existing parent). */
async function freeGiB(path: string): Promise<number> {
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const fs = await statfs(dir);
  return Math.round(((fs.bavail * fs.bsize) / 2 ** 30) * 10) / 10;
}

export async function checkTrees(ctx: OperationContext, problems: string[]): Promise<TreeRow[]> {
  const trees = Object.keys(ctx.config.mounts) as TreeName[];
  const minimum = ctx.config.host.minFreeGiB;
  const rows: TreeRow[] = [];
  for (const mount of await inspectTrees(ctx.config, ctx.root, trees, ctx.env)) {
    const { note: _note, ...row } = mount;
    const free = await freeGiB(mount.path);
    if (mount.problem) problems.push(mount.problem);
    if (free < minimum)
      problems.push(`${mount.tree} tree ${mount.path}: ${free} GiB free, below host.minFreeGiB ${minimum}`);
    rows.push({ ...row, freeGiB: free });
  }
  return rows;
}

export interface SigningKeyRow {
  major: string;
  keyId: string;
  fingerprint?: string;
  problem?: string;
}

export async function checkSigningKeys(
  ctx: OperationContext<'doctor'>,
  problems: string[],
): Promise<{ gpgHome: string; mode?: string; keys: SigningKeyRow[] }> {
  const gpgHome = join(ctx.root, ctx.config.signing.gpgHome);
  const wanted = signingKeyIds(ctx.config, ctx.options.major);
  const fix = '(releng-host install-signing-key installs it)';
  if (!existsSync(gpgHome)) {
    problems.push(`gpg home ${gpgHome} does not exist ${fix}`);
    return { gpgHome, keys: wanted.map((w) => ({ ...w, problem: 'no gpg home' })) };
  }
  const mode = `0${((await stat(gpgHome)).mode & 0o777).toString(8)}`;
  if (mode !== '0700') problems.push(`gpg home ${gpgHome} has mode ${mode}, not 0700 ${fix}`);
  let secretKeys: Awaited<ReturnType<typeof secretKeysIn>> = [];
  try {
    secretKeys = await secretKeysIn(gpgHome, ctx.env);
  } catch (err) {
    problems.push(errorMessage(err));
  }
  const keys = wanted.map(({ major, keyId }): SigningKeyRow => {
    const key = secretKeys.find((k) => keyMatches(k, keyId));
    if (key) return { major, keyId, fingerprint: key.fingerprint };
    const problem = `no secret key in ${gpgHome} matches majors.${major}.signingKeyId ${keyId} ${fix}`;
    problems.push(problem);
    return { major, keyId, problem };
  });
  return { gpgHome, mode, keys };
}
