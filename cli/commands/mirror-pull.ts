import { parse, UsageError } from '../args.ts';
import { pullMirror } from '../mirror/pull.ts';
import type { Output } from '../output.ts';

import { MIRROR_PULL_HELP } from './run-specs.ts';

export { MIRROR_PULL_HELP };

const DETAIL = `${MIRROR_PULL_HELP}

Pulls a published tree in two stages, as ftpsync and quick-fedora-mirror do: first everything but
repository metadata; then each new repodata/ is fetched beside DIR, checked (repomd.xml.asc by the
release key, every file repomd.xml names with its checksum, every package of its primary present)
and only then renamed into place. Superseded metadata files stay --keep-hours (default 48) for
clients holding an earlier repomd.xml. Safe to kill and rerun. --key FILE is the armoured release
key; later pulls trust the key given first. Exit 0: DIR serves the source's metadata; 3: DIR is
consistent but kept some previous metadata (the source changed during the pull: run again);
1: an error, or metadata that does not verify.`;

/** `releng mirror-pull`: a thin entry; the protocol is in cli/mirror/ and shared/mirror/. */
export async function mirrorPullCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    from: { type: 'string' },
    to: { type: 'string' },
    key: { type: 'string' },
    'keep-hours': { type: 'string', default: '48' },
    bwlimit: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  });
  if (values.help) {
    out.line(DETAIL);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (!values.from) throw new UsageError('--from rsync://HOST[:PORT]/MODULE/PATH is required');
  if (!values.to) throw new UsageError('--to DIR is required');
  const keepHours = Number(values['keep-hours']);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(values['keep-hours']!))
    throw new UsageError(`--keep-hours ${JSON.stringify(values['keep-hours'])}: expected a number of hours`);
  if (values.bwlimit !== undefined && !/^[1-9][0-9]*$/.test(values.bwlimit))
    throw new UsageError(
      `--bwlimit ${JSON.stringify(values.bwlimit)}: expected KiB per second, a positive integer`,
    );
  const report = await pullMirror({
    from: values.from,
    to: values.to,
    keyFile: values.key,
    keepHours,
    bwlimit: values.bwlimit ? Number(values.bwlimit) : undefined,
    log: values.json ? undefined : (line) => out.error(`[mirror-pull] ${line}`),
  });
  const badSignature = report.kept.some((k) => k.badSignature);
  const code = badSignature ? 1 : report.kept.length ? 3 : 0;
  if (values.json) out.json({ ...report, exitCode: code });
  else {
    out.line(`mirror ${report.to} from ${report.from}`);
    out.line(
      `  swapped in ${report.swapped.length}, unchanged ${report.unchanged.length}, expired files removed ${report.expired}`,
    );
    for (const kept of report.kept)
      out.line(`  kept the previous metadata of ${kept.repo}: ${kept.problems.join('; ')}`);
  }
  return code;
}
