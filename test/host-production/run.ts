import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContext, type OperationContext } from '../../host/framework/context.ts';
import { lockDir } from '../../host/framework/locks.ts';
import type { HostOperation } from '../../host/framework/operation.ts';
import { parseOperationArgs } from '../../host/framework/options.ts';
import { buildConfig } from '../../shared/config/load.ts';
import type { ReleaseConfig } from '../../shared/config/schema.ts';
import { PUBLISH_LOCK } from '../../shared/lanes.ts';
import type { HostOperationName } from '../../shared/operations.ts';

const REPO = join(import.meta.dirname, '..', '..');

/**
 * An operation's context as `releng-host NAME --root ROOT ARGS` makes it, for tests that call an
 * operation's parts directly; `--dry-run` in `args` makes a dry run.
 */
export function operationContext<K extends HostOperationName>(
  name: K,
  root: string,
  args: string[] = [],
  more: { config?: ReleaseConfig; progress?: (line: string) => void; env?: NodeJS.ProcessEnv } = {},
): OperationContext<K> {
  const options = parseOperationArgs(name, ['--root', root, ...args]);
  return createContext({
    operation: name,
    config: more.config ?? buildConfig(),
    root,
    dryRun: options['dry-run'] === true,
    options,
    clock: { now: () => new Date() },
    progress: more.progress ?? (() => {}),
    ...(more.env ? { env: more.env } : {}),
  });
}

/** Runs one operation in-process the way `releng-host` does, with a context we can inspect. */
export async function runOperation(
  operation: HostOperation,
  root: string,
  args: string[],
  overrides: Record<string, unknown> = {},
  onProgress?: (line: string) => void,
): Promise<{ result: Record<string, unknown>; ctx: OperationContext; progress: string[] }> {
  const progress: string[] = [];
  const ctx = operationContext(operation.name, root, args, {
    config: buildConfig(overrides),
    progress: (line) => {
      progress.push(line);
      onProgress?.(line);
    },
  });
  const result = await operation.run(ctx);
  return { result, ctx, progress };
}

/**
 * What a paused holder (a frozen VM, a hung NFS client) meets: its claim's heartbeat is an hour
 * old, so another publisher takes the publish lock with the next token. Synchronous (a child
 * process, while this one's event loop and heartbeat wait), so it can run inside a progress line.
 */
function takePublishLockFromHolder(root: string, scratch: string): void {
  const script = join(scratch, 'take-publish-lock.mts');
  const lock = JSON.stringify(PUBLISH_LOCK);
  writeFileSync(
    script,
    [
      "import { utimesSync } from 'node:fs';",
      `import { FileLocks } from ${JSON.stringify(join(REPO, 'host/framework/locks.ts'))};`,
      `const locks = new FileLocks(${JSON.stringify(lockDir(buildConfig(), root))}, { now: () => new Date() });`,
      `const holder = await locks.read(${lock});`,
      'const hourAgo = new Date(Date.now() - 3600_000);',
      `if (holder) utimesSync(locks.claimPath(${lock}, holder.token), hourAgo, hourAgo);`,
      `const lease = await locks.acquire(${lock}, 'intruder', 60);`,
      'await lease.release();',
    ].join('\n'),
  );
  execFileSync(join(REPO, 'node_modules/.bin/tsx'), [script], { stdio: 'pipe' });
}

/** A progress listener that makes the running operation lose the publish lock at the first line matching `step`. */
export function losePublishLockAt(step: RegExp, root: string, scratch: string): (line: string) => void {
  let lost = false;
  return (line) => {
    if (lost || !step.test(line)) return;
    lost = true;
    takePublishLockFromHolder(root, scratch);
  };
}
