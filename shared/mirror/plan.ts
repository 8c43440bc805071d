/**
 * Pure parts of `releng mirror-pull`, the mirror side of the publish protocol (as Debian's
 * ftpsync and Fedora's quick-fedora-mirror): which source, what each stage copies, which
 * packages a primary.xml names, and which superseded metadata files are kept for a grace period.
 */

import { primaryEntries } from '../xml/repodata.ts';

/** The top-level lists a mirror copies last, after the metadata (host/filelist/README.md). */
export const TOP_LEVEL_LISTS = ['fullfilelist', 'fullfiletimelist*', 'imagelist*'];

export interface RsyncSource {
  host: string;
  port?: number;
  module: string;
  /** Path inside the module, without leading or trailing slash ('' for the module's top). */
  path: string;
  /** `rsync://host[:port]/module/path/`: always ends in a slash (copy the contents). */
  url: string;
}

/** Parses `rsync://HOST[:PORT]/MODULE[/PATH]`; anything else is refused, naming the value. */
export function parseRsyncSource(value: string): RsyncSource {
  const match =
    /^rsync:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?\/([A-Za-z0-9._-]+)(\/[^\0]*)?$/.exec(
      value,
    );
  if (!match) throw new Error(`--from ${JSON.stringify(value)}: expected rsync://HOST[:PORT]/MODULE/PATH`);
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port < 1 || port > 65535))
    throw new Error(`--from ${JSON.stringify(value)}: port ${port} is out of range`);
  const path = (match[4] ?? '').replace(/^\/+|\/+$/g, '');
  if (path.split('/').some((part) => part === '..'))
    throw new Error(`--from ${JSON.stringify(value)}: the path may not contain ..`);
  const base = `rsync://${match[1]}${port === undefined ? '' : `:${port}`}/${match[3]}`;
  return { host: match[1]!, port, module: match[3]!, path, url: `${base}/${path ? `${path}/` : ''}` };
}

/** rsync filter options of stage 1: everything but repository metadata and the top-level lists. */
export function contentFilters(): string[] {
  return ['--exclude=repodata/', ...TOP_LEVEL_LISTS.map((name) => `--exclude=/${name}`)];
}

/** rsync filter options that fetch only the repodata/ dirs (stage 2, into the staging place). */
export function metadataFilters(): string[] {
  return ['--include=*/', '--include=repodata/***', '--exclude=*', '--prune-empty-dirs'];
}

/** A package a primary.xml names: its path relative to the repo dir and its size. */
export interface PrimaryPackage {
  href: string;
  size: number;
}

/** The packages of a primary.xml the mirror holds (those served from another base URL are not its). */
export function primaryPackages(xml: string): PrimaryPackage[] {
  const out: PrimaryPackage[] = [];
  for (const entry of primaryEntries(xml).entries) {
    if (entry.href === undefined || entry.size === undefined)
      throw new Error('primary.xml: a package has no location or size');
    if (entry.base === undefined) out.push({ href: entry.href, size: entry.size });
  }
  return out;
}

/**
 * Superseded metadata files (`<repo>/repodata/<name>` → when first seen superseded, epoch ms).
 * Kept on the mirror for the grace period so its clients holding an earlier repomd.xml still
 * find what it names.
 */
export type Retained = Record<string, number>;

/**
 * After a swap or a check: files of a repo's repodata not named by its current repomd are
 * retained from the first time seen so; those past the grace period are to be removed.
 */
export function planRetention(options: {
  retained: Retained;
  repo: string;
  /** Every file now in the repo's served repodata dir (after the swap). */
  present: string[];
  /** Files the current repomd names, plus repomd.xml and its .asc. */
  named: Set<string>;
  now: number;
  keepMs: number;
}): { retained: Retained; remove: string[] } {
  const { repo, now, keepMs } = options;
  const prefix = `${repo}/repodata/`;
  const retained: Retained = Object.fromEntries(
    Object.entries(options.retained).filter(([key]) => !key.startsWith(prefix)),
  );
  const remove: string[] = [];
  for (const name of options.present) {
    if (options.named.has(name)) continue;
    const since = options.retained[prefix + name] ?? now;
    if (now - since >= keepMs) remove.push(name);
    else retained[prefix + name] = since;
  }
  return { retained, remove: remove.sort() };
}

/** The hrefs of a repomd.xml as names inside repodata/ (records outside it are not ours to keep). */
export function namedInRepodata(hrefs: string[]): Set<string> {
  const named = new Set(['repomd.xml', 'repomd.xml.asc', 'repomd.xml.key']);
  for (const href of hrefs) if (href.startsWith('repodata/')) named.add(href.slice('repodata/'.length));
  return named;
}
