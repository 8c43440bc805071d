import { join } from 'node:path';
import type { OperationContext } from '../framework/context.ts';

/** A shell-style glob (`*.xml*`) as a regex on the last path segment, as hardlink -x matches paths. */
export function globToSegmentRegex(glob: string): string {
  const body = [...glob]
    .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : /[\\^$.|+()[\]{}]/.test(c) ? `\\${c}` : c))
    .join('');
  return body;
}

/**
 * Merges identical files of a release tree (os and kickstart, Devel and the main repos) with
 * util-linux hardlink, which compares content byte for byte (and mode, owner and mtime), never
 * size and mtime alone. Files edited in place (`*.xml*`, `.treeinfo`, `.discinfo`) are excluded
 * so an edit cannot leak into another tree.
 */
export async function hardlinkTree(ctx: OperationContext, tree: string, changed?: string[]): Promise<string> {
  const exclude = `(^|/)(${ctx.config.hardlinkExclude.map(globToSegmentRegex).join('|')})$`;
  // An incremental publish brings its duplicates together (a package lands in its repo and in
  // Devel at once): hardlinking what it copied finds them without reading the whole tree. A
  // large change, or the first publish, hardlinks the tree.
  if (changed && changed.length <= INCREMENTAL_HARDLINK_LIMIT) {
    if (!changed.length) return 'nothing copied';
    await ctx.run(['hardlink', '--quiet', '--exclude', exclude, ...changed.map((p) => join(tree, p))]);
    return `${changed.length} copied file(s)`;
  }
  await ctx.run(['hardlink', '--quiet', '--exclude', exclude, tree]);
  return 'whole tree';
}

/** Above this many copied files, hardlink walks the tree (argv stays well under ARG_MAX). */
const INCREMENTAL_HARDLINK_LIMIT = 5000;
