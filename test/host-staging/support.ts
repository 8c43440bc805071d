import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PackageStore } from '../../cli/demo/package-store.ts';
import { sha256 } from '../../host/framework/fsutil.ts';
import { main } from '../../host/main.ts';
import { packageFiles } from '../../host/repo/incremental.ts';
import { cachedPackageStore } from '../support/store-cache.ts';

/** One `releng-host` run in-process, as the SSM document and the engine run it. */
export interface HostRun {
  code: number;
  result: Record<string, unknown> & { ok: boolean; error?: string; plan: string[] };
  stderr: string;
  /** The result line exactly as printed on stdout. */
  line: string;
}

export function hostRunner(store: PackageStore, extraEnv: NodeJS.ProcessEnv = {}) {
  return async (operation: string, ...args: string[]): Promise<HostRun> => {
    const out: string[] = [];
    const err: string[] = [];
    const major =
      operation === 'sync-to-staging-sig' || args.includes('--major') ? [] : ['--major', store.major];
    const code = await main(
      [
        operation,
        '--root',
        store.root,
        ...(args.includes('--config') ? [] : ['--config', store.configPath]),
        ...major,
        ...args,
        '--json',
      ],
      { stdout: (l) => out.push(l), stderr: (l) => err.push(l), env: { ...process.env, ...extraEnv } },
    );
    const line = out.at(-1) ?? '{}';
    return { code, result: JSON.parse(line), stderr: err.join('\n'), line };
  };
}

export async function newStore(root: string): Promise<PackageStore> {
  // Built once per version of the demo's sources, copied here (test/support/store-cache.ts).
  return cachedPackageStore(root, '8');
}

/** Every file under `dir` with size, mtime and content hash: "nothing changed" made checkable. */
export async function treeState(dir: string): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const path = join(e.parentPath, e.name);
    if (e.isSymbolicLink()) state.set(path, 'link');
    else if (e.isFile()) {
      const s = await stat(path);
      state.set(path, `${s.size}:${s.mtimeMs}:${sha256(await readFile(path))}`);
    }
  }
  return state;
}

/** The package files of a repo dir as prep-staging lists them. */
export async function repoPackageFiles(repo: string) {
  return packageFiles(repo, (await readdir(join(repo, 'Packages'), { recursive: true })).map(String));
}

/** The staged 8.7-RC1 of a fresh store: compose, sync-to-staging, prep-staging and sign-repos all passed. */
export async function signedStaging(host: ReturnType<typeof hostRunner>, root: string): Promise<string> {
  for (const args of [
    ['compose', '--compose', 'Rocky', '--kind', 'updates'],
    ['sync-to-staging', '--compose', 'Rocky'],
    ['prep-staging'],
    ['sign-repos'],
  ]) {
    const run = await host(args[0]!, ...args.slice(1));
    if (run.code !== 0)
      throw new Error(`releng-host ${args.join(' ')} failed (exit ${run.code}): ${run.stderr}`);
  }
  return join(root, 'mnt/repos-staging/mirror/pub/rocky/8.7-RC1');
}
