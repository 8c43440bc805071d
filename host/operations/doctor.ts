import {
  checkSigningKeys,
  checkTools,
  checkTrees,
  type SigningKeyRow,
  type ToolRow,
  type TreeRow,
} from '../doctor/checks.ts';
import { HostOperationError } from '../framework/context.ts';
import type { HostOperation } from '../framework/operation.ts';

/**
 * doctor: is this host ready to run the operations? Every tool with its version, every tree
 * (a mount of the right kind where host.requireMounts says so, and free space above
 * host.minFreeGiB), and the signing key (in the 0700 gpg home, matching each major's
 * signingKeyId). It only reads, so a dry run checks the same. Exit 1 names each problem.
 */
export const doctor: HostOperation<'doctor'> = {
  name: 'doctor',
  trees: [],
  async run(ctx) {
    const problems: string[] = [];
    const tools = await checkTools(ctx, problems);
    const trees = await checkTrees(ctx, problems);
    const signing = await checkSigningKeys(ctx, problems);
    const report = { composeHost: ctx.config.host.requireMounts, tools, trees, signing, problems };
    if (problems.length)
      throw new HostOperationError(
        `doctor found ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.join('; ')}`,
        report,
      );
    return report;
  },
  format(result) {
    const table = (rows: string[][]) => {
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
      return rows.map((r) =>
        r
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      );
    };
    const tools = (result.tools as ToolRow[] | undefined) ?? [];
    const trees = (result.trees as TreeRow[] | undefined) ?? [];
    const signing = result.signing as { gpgHome: string; mode?: string; keys: SigningKeyRow[] } | undefined;
    const lines = table([
      ['TOOL', 'NEED', 'VERSION', 'USED BY'],
      ...tools.map((t) => [t.tool, t.need, t.found ? (t.version ?? '') : 'MISSING', t.usedBy]),
    ]);
    lines.push(
      '',
      ...table([
        ['TREE', 'PATH', 'MOUNT', 'FREE'],
        ...trees.map((t) => [
          t.tree,
          t.path,
          t.mounted ? `${t.fstype} from ${t.source}` : t.exists ? 'not a mount point' : 'absent',
          t.freeGiB === undefined ? '?' : `${t.freeGiB} GiB`,
        ]),
      ]),
    );
    if (signing)
      lines.push(
        '',
        ...table([
          ['MAJOR', 'SIGNING KEY', `FINGERPRINT IN ${signing.gpgHome} (${signing.mode ?? 'absent'})`],
          ...signing.keys.map((k) => [k.major, k.keyId, k.fingerprint ?? 'MISSING']),
        ]),
      );
    const problems = (result.problems as string[] | undefined) ?? [];
    if (problems.length) lines.push('', 'PROBLEMS', ...problems.map((p) => `  - ${p}`));
    return lines;
  },
};
