import { errorMessage } from '../../shared/errors.ts';
import type { HostOperationName } from '../../shared/operations.ts';
import { type Release, type ReleasePaths, releasePaths, resolveRelease } from '../../shared/release.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import type { OperationOptions } from '../framework/options.ts';

/** The operations that take `--major/--channel/--revision`. */
export type ReleaseOperation = {
  [K in HostOperationName]: OperationOptions<K> extends { channel: unknown; revision: unknown } ? K : never;
}[HostOperationName];

/** The release an operation's `--major/--channel/--revision` select, with its paths. */
export function selectedRelease(ctx: OperationContext<ReleaseOperation>): {
  release: Release;
  paths: ReleasePaths;
} {
  try {
    const { major, channel, revision } = ctx.options;
    const release = resolveRelease(ctx.config, { major, channel, revision });
    return { release, paths: releasePaths(ctx.config, ctx.root, release) };
  } catch (err) {
    throw new HostOperationError(`${ctx.operation}: ${errorMessage(err)}`);
  }
}

/** Lock owner for this run: operation and process, so a report names who holds it. */
export function lockOwner(ctx: OperationContext): string {
  return `${ctx.operation}:${process.pid}`;
}
