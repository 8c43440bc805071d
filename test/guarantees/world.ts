import { copyFile, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type PackageStore, tagUpdate } from '../../cli/demo/package-store.ts';
import { exportSecretKey } from '../../cli/demo/rpm-tools.ts';
import { execFile } from '../../host/framework/exec.ts';
import { main } from '../../host/main.ts';
import { secretFilePath } from '../../host/signing/secret-source.ts';
import { buildConfig } from '../../shared/config/load.ts';
import { type HostOperationName, paramsOf } from '../../shared/operations.ts';
import { cachedPackageStore } from '../support/store-cache.ts';

/**
 * One realistic local root on which every host operation has run for real: two updates
 * cycles (compose, staging sync in the seed's order), a SIG sync, a GA produce compose staged
 * by minor-release with torrents, then prep, errata, sign, verify, an approved publish to
 * production and the file lists. Built with the same `releng-host` entry SSM runs.
 */
export interface HostResult {
  code: number;
  result: Record<string, unknown> & { ok?: boolean; error?: string; plan?: string[] };
  stderr: string;
}

export interface World {
  root: string;
  store: PackageStore;
  digest: string;
  /** Runs `releng-host OP` on the world with the release options it takes, plus `extra`. */
  host(operation: HostOperationName, ...extra: string[]): Promise<HostResult>;
  /** The arguments each operation needs on this world (besides --root/--config/--major). */
  args: Record<HostOperationName, string[]>;
}

/** A SIG compose as empanadas' sync-sig leaves it: compose/<major>/<project>/<arch>/os. */
async function sigCompose(root: string, rpm: string): Promise<void> {
  const id = 'SIG-kernel-8-20260101.0';
  const dir = join(root, 'mnt/compose/8', id);
  const repo = join(dir, 'compose/8/kernel/x86_64/os');
  await mkdir(join(repo, 'Packages'), { recursive: true });
  await copyFile(rpm, join(repo, 'Packages', rpm.split('/').at(-1)!));
  await execFile(['createrepo_c', '--quiet', repo]);
  await writeFile(join(dir, 'COMPOSE_ID'), `${id}\n`);
  await writeFile(join(dir, 'STATUS'), 'FINISHED\n');
  await rm(join(root, 'mnt/compose/8/latest-SIG-kernel-8'), { force: true });
  await symlink(id, join(root, 'mnt/compose/8/latest-SIG-kernel-8'));
}

export async function buildWorld(root: string): Promise<World> {
  const store = await cachedPackageStore(root, '8');
  // What Secrets Manager holds on AWS, as the local stand-in install-signing-key reads.
  await exportSecretKey(
    store.key,
    secretFilePath(root, buildConfig(store.configOverrides).aws.signingKeySecret),
  );
  const args = {} as Record<HostOperationName, string[]>;
  /** `releng-host OP --root … --config … [--major 8] ARGS --json`, in-process. */
  const raw = async (operation: HostOperationName, extra: string[]): Promise<HostResult> => {
    const takes = new Set(paramsOf(operation).map((p) => p.name));
    const argv = [operation, '--root', root, '--config', store.configPath];
    if (takes.has('major')) argv.push('--major', '8');
    argv.push(...extra, '--json');
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
    return { code, result: JSON.parse(out.at(-1) ?? '{}'), stderr: err.join('\n') };
  };
  const host = (operation: HostOperationName, ...extra: string[]) =>
    raw(operation, [...(args[operation] ?? []), ...extra]);
  const ok = async (operation: HostOperationName, ...extra: string[]) => {
    const run = await raw(operation, extra.length ? extra : (args[operation] ?? []));
    if (run.code !== 0)
      throw new Error(`${operation} ${extra.join(' ')} failed: ${run.result.error}\n${run.stderr}`);
    return run;
  };
  await ok('compose', '--compose', 'Rocky', '--kind', 'updates');
  await ok('compose', '--compose', 'Extras', '--kind', 'updates');
  await ok('sync-to-staging', '--compose', 'Extras');
  await ok('sync-to-staging', '--compose', 'Rocky');
  await tagUpdate(store);
  await ok('compose', '--compose', 'Rocky', '--kind', 'updates');
  await ok('sync-to-staging', '--compose', 'Rocky');
  Object.assign(args, {
    compose: ['--compose', 'Rocky', '--kind', 'updates'],
    'sync-to-staging': ['--compose', 'Rocky'],
    'sync-to-staging-sig': ['--sig', 'kernel'],
    'prep-staging': [],
    'apply-updateinfo': ['--updateinfo', store.updateinfoPath],
    'sign-repos': [],
    'verify-staging': [],
    rollback: [],
    'file-lists': [],
    'minor-release': [],
    torrents: [],
  });
  await sigCompose(
    root,
    join(root, 'mnt/koji/packages/demo-hello/1.0/1.el8/noarch/demo-hello-1.0-1.el8.noarch.rpm'),
  );
  await ok('sync-to-staging-sig');
  // The GA side: a produce compose (the local engine makes its small real ISOs) staged by
  // minor-release, so torrents has ISO sets to make.
  await ok('compose', '--compose', 'Rocky', '--kind', 'produce');
  await ok('minor-release');
  await ok('torrents');
  await ok('prep-staging');
  await ok('apply-updateinfo');
  await ok('sign-repos');
  const digest = (await ok('verify-staging')).result.digest as string;
  args['sync-to-prod'] = ['--approved-digest', digest];
  await ok('sync-to-prod');
  // GA day: production's 8 link moves to the published release, before the file lists.
  args['ga-publish'] = ['--step', 'link'];
  await ok('ga-publish');
  await ok('file-lists');
  return { root, store, digest, host, args };
}
