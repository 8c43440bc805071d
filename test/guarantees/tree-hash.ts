import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * Every entry under `dir`, directories included: type, mode, size, mtime (ns), symlink target
 * and content hash. Two equal states mean nothing was created, removed, renamed, touched or
 * rewritten, not even a temp dir made and removed again (its parent's mtime would move).
 */
export async function treeState(dir: string): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  const visit = async (path: string): Promise<void> => {
    const info = await lstat(path, { bigint: true });
    const rel = relative(dir, path) || '.';
    const common = `${info.mode.toString(8)} ${info.mtimeNs}`;
    if (info.isSymbolicLink()) state.set(rel, `l ${common} -> ${await readlink(path)}`);
    else if (info.isFile()) {
      const hash = createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
      state.set(rel, `f ${common} ${info.size} ${hash}`);
    } else if (info.isDirectory()) {
      state.set(rel, `d ${common}`);
      for (const name of (await readdir(path)).sort()) await visit(join(path, name));
    } else state.set(rel, `other ${common}`);
  };
  await visit(dir);
  return state;
}

/** What differs between two states: `+path`, `-path`, `~path`, sorted. */
export function treeChanges(before: Map<string, string>, after: Map<string, string>): string[] {
  const changes: string[] = [];
  for (const [path, value] of after) {
    if (!before.has(path)) changes.push(`+${path}`);
    else if (before.get(path) !== value) changes.push(`~${path}`);
  }
  for (const path of before.keys()) if (!after.has(path)) changes.push(`-${path}`);
  return changes.sort();
}
