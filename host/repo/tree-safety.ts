import { entryType, linkTarget, type TreeEntry } from './tree-walk.ts';

/**
 * What must never reach a mirror, checked on the release tree's one stat walk (no extra reads):
 * - a symlink that is absolute or resolves outside the release tree: a symlink-following web
 *   server would serve the host's own files (`Packages/shadow -> /etc/shadow`);
 * - a file or directory mirrors cannot read (no read bit for others, or a directory without
 *   r-x for others): every mirror's rsync would fail on it. Refused, not normalized: verify only
 *   reads, so what is approved is what was staged, and the fix belongs to whoever staged it;
 * - anything but a file, directory or symlink (fifo, socket, device);
 * - a name or link target with a control character or a byte outside printable ASCII: rsync's
 *   itemized output escapes them and the tab-separated file lists cannot carry them, so such a
 *   release would verify and then never publish.
 */

/** Printable ASCII only (space included): what every list and rsync's output carry verbatim. */
const UNSAFE_NAME = /[^\x20-\x7e]/;

/** A name as a reader can see it: JSON escapes, and \uXXXX for anything outside ASCII. */
export function showName(name: string): string {
  return JSON.stringify(name).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function nameProblem(path: string, what: string, value: string): string | undefined {
  const bad = UNSAFE_NAME.exec(value);
  if (!bad) return undefined;
  const code = bad[0].charCodeAt(0);
  const kind =
    bad[0] === '\t'
      ? 'a tab'
      : bad[0] === '\n'
        ? 'a newline'
        : code < 0x20 || code === 0x7f
          ? 'a control character'
          : 'a non-ASCII byte';
  const subject = what === 'name' ? showName(path) : `${showName(path)}: link target ${showName(value)}`;
  return `${subject}: ${what} holds ${kind}; rsync's itemized output and the tab-separated file lists cannot carry it, so it could never publish (rename it)`;
}

/** Mode bits from the walk's attrs (`type\tsize\tmtime\tmode\ttarget`). */
function modeOf(entry: TreeEntry): number {
  return Number.parseInt(entry.attrs.split('\t', 4)[3] ?? '0', 8);
}

const MAX_LINK_HOPS = 40; // as the kernel's ELOOP limit

/**
 * Where `linkPath` leads, resolved as a web server would but jailed to the tree: each component
 * is looked up in the walk, a link's target is spliced in, `..` at the top escapes. Lexical
 * normalization alone is not enough: `a/b/l -> s/../..` with `s -> ../../q` climbs out through s.
 * Returns undefined when it stays inside, else why not.
 */
function escapes(linkPath: string, byPath: Map<string, TreeEntry>): string | undefined {
  const dir = linkPath.split('/').slice(0, -1); // find does not descend links: these are dirs
  let pending = linkTarget(byPath.get(linkPath)!).split('/');
  if (pending[0] === '') return 'is absolute';
  let hops = 1;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (dir.length === 0) return 'resolves outside the release tree';
      dir.pop();
      continue;
    }
    const here = [...dir, part].join('/');
    const entry = byPath.get(here);
    if (entry && entryType(entry) === 'l') {
      if (++hops > MAX_LINK_HOPS) return `loops (more than ${MAX_LINK_HOPS} links)`;
      const target = linkTarget(entry);
      if (target.startsWith('/')) return `leads through ${here}, which is absolute`;
      pending = [...target.split('/'), ...pending];
    } else dir.push(part); // a dir, a file, or nothing yet: nothing there can lead out
  }
  return undefined;
}

/** Problems of the release tree's entries (its walk, relative paths), as sentences naming each. */
export function treeSafetyProblems(entries: TreeEntry[]): string[] {
  const problems: string[] = [];
  const byPath = new Map(entries.map((e) => [e.path, e]));
  for (const entry of entries) {
    const type = entryType(entry);
    // Only the last component: a bad directory is reported once, not again for all it holds.
    const name = nameProblem(entry.path, 'name', entry.path.slice(entry.path.lastIndexOf('/') + 1));
    if (name) problems.push(name);
    if (type === 'l') {
      const target = linkTarget(entry);
      const targetName = nameProblem(entry.path, 'link target', target);
      if (targetName) problems.push(targetName);
      const why = escapes(entry.path, byPath);
      if (why)
        problems.push(
          `${showName(entry.path)} -> ${showName(target)}: symlink ${why}; only links within the release tree may ship`,
        );
      continue;
    }
    const mode = modeOf(entry);
    if (type === 'f') {
      if ((mode & 0o004) === 0)
        problems.push(
          `${showName(entry.path)}: mode ${mode.toString(8).padStart(4, '0')}, not readable by others, so mirrors cannot read it`,
        );
    } else if (type === 'd') {
      if ((mode & 0o005) !== 0o005)
        problems.push(
          `${showName(entry.path)}/: directory mode ${mode.toString(8).padStart(4, '0')}, not r-x for others, so mirrors cannot list it`,
        );
    } else
      problems.push(`${showName(entry.path)}: a ${describeType(type)}, not a file, directory or symlink`);
  }
  return problems;
}

function describeType(type: string): string {
  return (
    { p: 'fifo', s: 'socket', b: 'block device', c: 'character device', D: 'door' }[type] ?? `type ${type}`
  );
}

/** At most `limit` problems, then one line saying how many more: a message stays readable. */
export function capped(problems: string[], limit: number): string[] {
  if (problems.length <= limit) return problems;
  return [...problems.slice(0, limit), `… and ${problems.length - limit} more like these`];
}
