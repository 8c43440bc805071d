import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { errorMessage } from '../../shared/errors.ts';
import { execFile } from './exec.ts';
import type { TreeName } from './operation.ts';

/** File system types a tree may be on when mounts are required: EFS shows as nfs4 once mounted. */
export const TREE_FS_TYPES: readonly string[] = ['nfs4', 'efs'];

/** What findmnt says about one tree's directory. */
export interface TreeMount {
  tree: TreeName;
  path: string;
  exists: boolean;
  /** True when the directory itself is a mount point. */
  mounted: boolean;
  fstype?: string;
  source?: string;
  /** Why the tree cannot be used when mounts are required; undefined when it can. */
  problem?: string;
  /** What could not be checked when mounts are not required. */
  note?: string;
}

interface FindmntOutput {
  filesystems?: { target: string; source: string; fstype: string }[];
}

/**
 * `findmnt --mountpoint PATH`: the file system mounted exactly at `path`, or undefined when the
 * directory is not a mount point (findmnt exits 1 then). A missing findmnt is an error: a mount
 * check that cannot run must not pass.
 */
export async function mountAt(
  path: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ fstype: string; source: string } | undefined> {
  const argv = ['findmnt', '--json', '--output', 'TARGET,SOURCE,FSTYPE', '--mountpoint', path];
  const result = await execFile(argv, { env, okCodes: [0, 1] });
  if (result.code === 1) return undefined;
  const found = (JSON.parse(result.stdout) as FindmntOutput).filesystems ?? [];
  // Mounts stacked on one directory: the last one listed is the one on top.
  const top = found.at(-1);
  return top ? { fstype: top.fstype, source: top.source } : undefined;
}

export function treePath(config: ReleaseConfig, root: string, tree: TreeName): string {
  return join(root, config.mounts[tree]);
}

/**
 * Inspects each tree; with `required` (config host.requireMounts) a tree that is not a mount
 * point of an NFS 4 / EFS file system gets a problem naming it, its path and the likely cause.
 */
export async function inspectTrees(
  config: ReleaseConfig,
  root: string,
  trees: readonly TreeName[],
  env?: NodeJS.ProcessEnv,
): Promise<TreeMount[]> {
  const required = config.host.requireMounts;
  const out: TreeMount[] = [];
  for (const tree of trees) {
    const path = treePath(config, root, tree);
    const exists = existsSync(path);
    const entry: TreeMount = { tree, path, exists, mounted: false };
    if (exists) {
      try {
        const mount = await mountAt(realpathSync(path), env);
        if (mount) Object.assign(entry, { mounted: true, ...mount });
      } catch (err) {
        const why = `${tree} tree ${path}: cannot check its mount: ${errorMessage(err)}`;
        if (required) entry.problem = why;
        else entry.note = why;
      }
    }
    if (required && !entry.problem) {
      if (!entry.mounted)
        entry.problem = `${tree} tree ${path} is not mounted; the EFS mount failed? (host.requireMounts is true)`;
      else if (!TREE_FS_TYPES.includes(entry.fstype ?? ''))
        entry.problem = `${tree} tree ${path} is a ${entry.fstype} mount of ${entry.source}, not ${TREE_FS_TYPES.join(' or ')} (host.requireMounts is true)`;
    }
    out.push(entry);
  }
  return out;
}

/** The problems that keep an operation using `trees` from starting; empty when it may start. */
export async function unusableTrees(
  config: ReleaseConfig,
  root: string,
  trees: readonly TreeName[],
  env?: NodeJS.ProcessEnv,
): Promise<string[]> {
  if (!config.host.requireMounts || trees.length === 0) return [];
  const mounts = await inspectTrees(config, root, trees, env);
  return mounts.flatMap((m) => (m.problem ? [m.problem] : []));
}
