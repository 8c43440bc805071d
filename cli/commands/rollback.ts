import { createInterface } from 'node:readline/promises';
import { RollbackStore, rollbackRoot } from '../../host/publish/rollback-record.ts';
import { loadConfig } from '../../shared/config/load.ts';
import type { Channel } from '../../shared/config/schema.ts';
import { resolveRelease } from '../../shared/release.ts';
import { UsageError } from '../args.ts';
import { sessionConfigFile } from '../engine/local-app.ts';
import type { Output } from '../output.ts';

export interface RollbackValues {
  root?: string;
  config?: string;
  major: string;
  channel: Channel;
  revision?: string | undefined;
  yes?: boolean;
  'dry-run'?: boolean;
  json?: boolean;
}

/**
 * Before `releng rollback` runs the host operation: the plan from the release's rollback record
 * (what it restores, what it removes), a warning when it removes a first publish's metadata,
 * and a confirmation (or --yes): `run`, `nothing` (already rolled back) or `declined`.
 */
export async function confirmRollback(
  values: RollbackValues,
  out: Output,
): Promise<'run' | 'nothing' | 'declined'> {
  const root = values.root ?? '.releng';
  const config = loadConfig(sessionConfigFile(root, values.config));
  const release = resolveRelease(config, {
    major: values.major,
    channel: values.channel,
    ...(values.revision ? { revision: values.revision } : {}),
  });
  const dir = release.productionDirName;
  const record = await new RollbackStore(rollbackRoot(config, root, dir)).last();
  const say = values.json ? out.error : out.line;
  if (!record)
    throw new UsageError(`rollback: no publish of ${dir} is recorded under --root ${root}; nothing to undo`);
  if (record.rolledBackAt) {
    say(
      `rollback: ${dir} already rolled back at ${record.rolledBackAt} (the publish of digest ${record.digest}); nothing to undo`,
    );
    if (values.json)
      out.json({ release: dir, digest: record.digest, alreadyRolledBack: record.rolledBackAt });
    return 'nothing';
  }
  const restored = record.repos.filter((r) => !r.absent).map((r) => r.repodata);
  const removed = record.repos.filter((r) => r.absent).map((r) => r.repodata);
  say(`rollback plan for ${dir}: undo the publish of digest ${record.digest} (started ${record.startedAt})`);
  if (restored.length)
    say(`  restore the previous metadata of ${restored.length} repos: ${restored.join(', ')}`);
  if (removed.length) {
    say(`  remove the metadata of ${removed.length} repos that publish created: ${removed.join(', ')}`);
    say(
      `warning: that was the first publish of ${removed.length === record.repos.length ? dir : 'those repos'}: rolling back removes their metadata, so mirrors and dnf clients lose them (packages stay)`,
    );
  }
  if (values['dry-run'] || values.yes) return 'run';
  if (!process.stdin.isTTY) throw new UsageError('rollback changes production: rerun with --yes to confirm');
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`Roll back ${dir} in production? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) {
      say('rollback: not confirmed; production untouched');
      return 'declined';
    }
    return 'run';
  } finally {
    prompt.close();
  }
}
