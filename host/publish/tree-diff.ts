import { entryType, type TreeEntry } from '../repo/tree-walk.ts';
import type { ItemizedChange } from './rsync.ts';

/**
 * The publish's change list from one stat walk of each tree (walkTree), instead of an rsync dry
 * run that walks both trees again: on EFS each stat is a network round trip, and staging's walk
 * already serves the approved-digest re-check. It decides as `rsync -a --delete` with the
 * packages pass's excludes would (its quick check: type, size, whole-second mtime, mode, link
 * target, owner when the publish sets one), listing more where unsure: a listed file that needs
 * no copy costs the copying rsync one quick check, an unlisted one would be a missed publish.
 */

/** Dirs the packages pass never copies nor deletes (its `--exclude=NAME/` patterns). */
const EXCLUDED_DIR_NAMES = new Set(['repodata', '.repodata', '.~tmp~']);

/** Whether the packages pass's excludes cover `path` (relative, without a trailing slash). */
export function excludedFromPackagesPass(path: string, type: string): boolean {
  if (path === 'COMPOSE_ID') return true;
  const parts = path.split('/');
  if (parts[0] === 'metadata' && (parts.length > 1 || type === 'd')) return true;
  for (let i = 0; i < parts.length - 1; i++) if (EXCLUDED_DIR_NAMES.has(parts[i]!)) return true;
  return type === 'd' && EXCLUDED_DIR_NAMES.has(parts.at(-1)!);
}

/** `type\tsize\tmtime\tmode\ttarget` split once. */
function fieldsOf(entry: TreeEntry): string[] {
  return entry.attrs.split('\t');
}

/** `uid:gid` of an entry (identity is `dev\tino\tctime\tuid\tgid`). */
function ownerOf(entry: TreeEntry): string {
  const f = entry.identity.split('\t');
  return `${f[3]}:${f[4]}`;
}

/** find's `%T@` (`seconds.fraction`) without the fraction. */
function wholeSeconds(mtime: string): string {
  const dot = mtime.indexOf('.');
  return dot < 0 ? mtime : mtime.slice(0, dot);
}

/**
 * What changes for one path present in both trees, as an rsync item code, or undefined when the
 * quick check (size, mtime in whole seconds, mode, link target, owner when one is set) passes.
 */
function itemFor(staged: TreeEntry, published: TreeEntry, owner: string | undefined): string | undefined {
  const [type, size, mtimeNs, mode, target] = fieldsOf(staged);
  const [pType, pSize, pMtimeNs, pMode, pTarget] = fieldsOf(published);
  // Whole seconds, as rsync's quick check compares them: hardlink merges identical files whose
  // mtimes differ below a second, and a finer compare would copy those again on every publish.
  const mtime = wholeSeconds(mtimeNs!);
  const pMtime = wholeSeconds(pMtimeNs!);
  if (type !== pType) return undefined; // handled by the caller: delete, then create
  if (type === 'd') return undefined; // a dir's own attributes are never the packages pass's work
  const ownerDiffers = owner !== undefined && ownerOf(published) !== owner;
  if (type === 'l') {
    if (target !== pTarget) return 'cLc........';
    return mtime !== pMtime || ownerDiffers ? '.L..t......' : undefined;
  }
  const code = type === 'f' ? 'f' : 'D';
  if (size !== pSize || mtime !== pMtime) return `>${code}.${size !== pSize ? 's' : '.'}t......`;
  if (mode !== pMode || ownerDiffers) return `.${code}...p.....`;
  return undefined;
}

function created(entry: TreeEntry): ItemizedChange {
  const type = entryType(entry);
  const size = Number(fieldsOf(entry)[1]);
  if (type === 'd') return { item: 'cd+++++++++', path: `${entry.path}/`, size };
  if (type === 'l') return { item: 'cL+++++++++', path: entry.path, size };
  return { item: type === 'f' ? '>f+++++++++' : 'cD+++++++++', path: entry.path, size };
}

function deleted(entry: TreeEntry): ItemizedChange {
  return { item: '*deleting', path: entryType(entry) === 'd' ? `${entry.path}/` : entry.path, size: 0 };
}

export interface TreeDiff {
  /** In path order, parents before their contents, itemized as rsync's dry run would. */
  changes: ItemizedChange[];
  /** Regular files staging has outside the excludes (an rsync dry run's `reg:` count). */
  stagingFiles: number;
}

/**
 * Compares two walks (each sorted by path, as walkTree returns them). `owner` is the `uid:gid`
 * the publish sets (its --chown), or undefined when it cannot set owners. A file replacing a
 * file keeps `previousSize` for the shrink guard, so the guard needs no stat of its own.
 */
export function diffTrees(staged: TreeEntry[], published: TreeEntry[], owner?: string): TreeDiff {
  const changes: ItemizedChange[] = [];
  let stagingFiles = 0;
  let i = 0;
  let j = 0;
  while (i < staged.length || j < published.length) {
    const s = staged[i];
    const p = published[j];
    const order = !s ? 1 : !p ? -1 : s.path < p.path ? -1 : s.path > p.path ? 1 : 0;
    if (order < 0) {
      i++;
      const type = entryType(s!);
      if (excludedFromPackagesPass(s!.path, type)) continue;
      if (type === 'f') stagingFiles++;
      changes.push(created(s!));
    } else if (order > 0) {
      j++;
      if (!excludedFromPackagesPass(p!.path, entryType(p!))) changes.push(deleted(p!));
    } else {
      i++;
      j++;
      const type = entryType(s!);
      const pType = entryType(p!);
      const sExcluded = excludedFromPackagesPass(s!.path, type);
      if (!sExcluded && type === 'f') stagingFiles++;
      if (type !== pType) {
        // Replaced in the copy, as rsync itemizes it: a creation, no delete of what it replaces
        // (a replaced dir's contents are production-only entries, listed as deleted).
        if (!sExcluded) changes.push(created(s!));
        continue;
      }
      if (sExcluded) continue;
      const item = itemFor(s!, p!, owner);
      if (item)
        changes.push({
          item,
          path: s!.path,
          size: Number(fieldsOf(s!)[1]),
          previousSize: Number(fieldsOf(p!)[1]),
        });
    }
  }
  return { changes, stagingFiles };
}

/** Names that hold no repos: discovery does not look below them (as findRepoDirs). */
const NOT_DESCENDED = new Set(['Packages', 'repodata', '.releng']);

/**
 * Every dir holding `repodata/repomd.xml`, relative to the walked root (`.` for the root itself),
 * sorted: what findRepoDirs finds, read from a walk instead of more directory reads.
 */
export function repoDirsOf(entries: TreeEntry[]): string[] {
  const dirs = new Set<string>();
  for (const entry of entries) entry.attrs.startsWith('d\t') && dirs.add(entry.path);
  const found: string[] = [];
  for (const entry of entries) {
    if (!(entry.path === 'repodata/repomd.xml' || entry.path.endsWith('/repodata/repomd.xml'))) continue;
    const repodata = entry.path.slice(0, -'/repomd.xml'.length);
    if (!dirs.has(repodata)) continue;
    const repo = repodata === 'repodata' ? '.' : repodata.slice(0, -'/repodata'.length);
    const ancestors = repo === '.' ? [] : repo.split('/');
    if (ancestors.some((name) => NOT_DESCENDED.has(name))) continue;
    found.push(repo);
  }
  return found.sort();
}
