import type { Channel } from '../../shared/config/schema.ts';
import { errorMessage } from '../../shared/errors.ts';
import { type Release, type ReleasePaths, releasePaths, resolveRelease } from '../../shared/release.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';

/** The release an operation's `--major/--channel/--revision` select, with its paths. */
export function selectedRelease(ctx: OperationContext): { release: Release; paths: ReleasePaths } {
  try {
    const release = resolveRelease(ctx.config, {
      major: ctx.options.major as string | undefined,
      channel: ctx.options.channel as Channel | undefined,
      revision: ctx.options.revision as string | undefined,
    });
    return { release, paths: releasePaths(ctx.config, ctx.root, release) };
  } catch (err) {
    throw new HostOperationError(`${ctx.operation}: ${errorMessage(err)}`);
  }
}

/** Lock owner for this run: operation and process, so a report names who holds it. */
export function lockOwner(ctx: OperationContext): string {
  return `${ctx.operation}:${process.pid}`;
}
