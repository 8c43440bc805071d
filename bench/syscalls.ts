/**
 * Metadata-operation counter. On EFS (NFS) every lookup, attribute fetch, directory read,
 * create, rename or attribute change is a network round trip, so the number of these syscalls
 * decides how long a publish takes there, far more than CPU or local-disk wall time.
 *
 * A command runs under `strace -f -c -e trace=<METADATA_SYSCALLS>` (every process and thread it
 * starts: rsync's sender/receiver/generator, find, hardlink, gpg, node's worker threads), and
 * the calls are summed, failed ones included (a failed lookup is still a round trip). Wall time
 * is measured apart, in a run without strace (ptrace slows every traced call).
 *
 * Counted: path lookups and attribute reads (stat, lstat, newfstatat, statx, access, faccessat,
 * readlink), opens (open, openat, creat), directory reads (getdents, getdents64), namespace
 * changes (rename*, link*, symlink*, unlink*, mkdir*, rmdir, mknod*) and attribute writes
 * (chmod, fchmod*, chown, fchown*, lchown, utime*, futimesat, truncate, ftruncate), statfs.
 * Not counted: read, write, close, fstat and lseek on an open descriptor (served from the open
 * file and its cached attributes; data transfer is not metadata) and anything not file-system.
 *
 * Run: `npx tsx bench/syscalls.ts [--startup 'CMD…'] -- CMD ARGS…` prints one JSON object: the
 * command's counts and wall time, and with --startup the same for a no-op command, subtracted.
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExecOptions, execFile } from '../host/framework/exec.ts';

export const METADATA_SYSCALLS = [
  'stat',
  'lstat',
  'newfstatat',
  'statx',
  'access',
  'faccessat',
  'faccessat2',
  'readlink',
  'readlinkat',
  'open',
  'openat',
  'openat2',
  'creat',
  'getdents',
  'getdents64',
  'rename',
  'renameat',
  'renameat2',
  'link',
  'linkat',
  'symlink',
  'symlinkat',
  'unlink',
  'unlinkat',
  'mkdir',
  'mkdirat',
  'rmdir',
  'mknod',
  'mknodat',
  'chmod',
  'fchmod',
  'fchmodat',
  'chown',
  'fchown',
  'lchown',
  'fchownat',
  'utime',
  'utimes',
  'utimensat',
  'futimesat',
  'truncate',
  'ftruncate',
  'statfs',
] as const;

export interface OpCount {
  /** Sum of every counted syscall over every process. */
  ops: number;
  bySyscall: Record<string, number>;
  /** Wall time of an untraced run, seconds. */
  wall: number;
}

/**
 * libuv may route file-system calls through io_uring, which strace cannot see: measured runs
 * use the thread pool, whose syscalls it does.
 */
const TRACEABLE_ENV = { UV_USE_IO_URING: '0' };

/** Parses `strace -c` output: `% time seconds usecs/call calls [errors] syscall` rows. */
export function parseStraceSummary(text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5 || !/^[0-9.]+$/.test(fields[0]!)) continue;
    const name = fields.at(-1)!;
    if (name === 'total') continue;
    counts[name] = (counts[name] ?? 0) + Number(fields[3]);
  }
  return counts;
}

/** Counts the metadata syscalls of one run of `argv` (strace'd), with `env` added. */
export async function countOps(
  argv: string[],
  options: ExecOptions = {},
): Promise<Omit<OpCount, 'wall'> & { result: string }> {
  const out = join(tmpdir(), `strace-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  try {
    const result = await execFile(
      ['strace', '-f', '-c', '-o', out, `-e`, `trace=${METADATA_SYSCALLS.join(',')}`, '--', ...argv],
      { ...options, env: { ...(options.env ?? process.env), ...TRACEABLE_ENV } },
    );
    const bySyscall = parseStraceSummary(await readFile(out, 'utf8'));
    const ops = Object.values(bySyscall).reduce((a, b) => a + b, 0);
    return { ops, bySyscall, result: result.stdout };
  } finally {
    await rm(out, { force: true });
  }
}

/** Wall time of one untraced run of `argv`, seconds. */
export async function wallOf(argv: string[], options: ExecOptions = {}): Promise<number> {
  const start = process.hrtime.bigint();
  await execFile(argv, { ...options, env: { ...(options.env ?? process.env), ...TRACEABLE_ENV } });
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * The same count split by program (the basename each process exec'd; threads and forks count
 * under their parent's program until they exec), from a full trace instead of strace's summary.
 */
export async function countOpsByProgram(
  argv: string[],
  options: ExecOptions = {},
): Promise<Record<string, number>> {
  const out = join(tmpdir(), `strace-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  try {
    const trace = ['execve', 'clone', 'clone3', 'fork', 'vfork', ...METADATA_SYSCALLS].join(',');
    await execFile(['strace', '-f', '-qq', '-v', '-o', out, '-e', `trace=${trace}`, '--', ...argv], {
      ...options,
      env: { ...(options.env ?? process.env), ...TRACEABLE_ENV },
    });
    const metadata = new Set<string>(METADATA_SYSCALLS);
    const program = new Map<string, string>();
    const counts: Record<string, number> = {};
    for (const line of (await readFile(out, 'utf8')).split('\n')) {
      const m = /^([0-9]+) +(?:<\.\.\. )?([a-z0-9_]+)[( ]/.exec(line);
      if (!m) continue;
      const [, pid, call] = m as unknown as [string, string, string];
      if (call === 'execve') {
        const path = /execve\("([^"]*)"/.exec(line)?.[1];
        const flag = /"--(files-from|dry-run)/.exec(line)?.[1];
        if (path && !line.includes('= -1'))
          program.set(pid, path.slice(path.lastIndexOf('/') + 1) + (flag ? ` --${flag}` : ''));
        continue;
      }
      const child = /= ([0-9]+)$/.exec(line)?.[1];
      if (/^(clone|clone3|fork|vfork)$/.test(call)) {
        if (child) program.set(child, program.get(pid) ?? argv[0]!);
        continue;
      }
      if (!metadata.has(call) || line.includes(' resumed>')) continue;
      const name = program.get(pid) ?? argv[0]!.slice(argv[0]!.lastIndexOf('/') + 1);
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  } finally {
    await rm(out, { force: true });
  }
}

/** `a - b` per syscall (start-up subtracted); negative counts are kept, they show noise. */
export function subtract(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (a[name] ?? 0) - (b[name] ?? 0);
    if (d) out[name] = d;
  }
  return out;
}

/** The calls of most weight first, for a report line: `newfstatat 40123, getdents64 812, …`. */
export function topSyscalls(counts: Record<string, number>, n = 6): string {
  return Object.entries(counts)
    .sort((x, y) => y[1] - x[1])
    .slice(0, n)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const dash = args.indexOf('--');
  if (dash < 0) {
    console.error("usage: npx tsx bench/syscalls.ts [--startup 'CMD ARGS'] -- CMD ARGS...");
    process.exit(2);
  }
  const command = args.slice(dash + 1);
  const startupAt = args.indexOf('--startup');
  const startup = startupAt >= 0 && startupAt < dash ? args[startupAt + 1]!.split(' ') : undefined;
  const counted = await countOps(command);
  const wall = await wallOf(command);
  const report: Record<string, unknown> = { command, ops: counted.ops, wall, bySyscall: counted.bySyscall };
  if (startup) {
    const base = await countOps(startup);
    const baseWall = await wallOf(startup);
    report.startup = { command: startup, ops: base.ops, wall: baseWall };
    report.opsLessStartup = counted.ops - base.ops;
    report.wallLessStartup = wall - baseWall;
    report.bySyscallLessStartup = subtract(counted.bySyscall, base.bySyscall);
  }
  if (args.includes('--by-program')) report.byProgram = await countOpsByProgram(command);
  console.log(JSON.stringify(report, null, 1));
}
