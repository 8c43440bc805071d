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
export async function hardlinkTree(ctx: OperationContext, tree: string): Promise<void> {
  const exclude = `(^|/)(${ctx.config.hardlinkExclude.map(globToSegmentRegex).join('|')})$`;
  await ctx.run(['hardlink', '--quiet', '--exclude', exclude, tree]);
}
