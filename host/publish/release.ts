import type { Channel } from '../../shared/config/schema.ts';
import {
  type Release,
  type ReleasePaths,
  releasePaths,
  resolveRelease,
  sigRelease,
} from '../../shared/release.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';

/**
 * The release an operation's `--major/--channel/--revision` select, with its paths; with
 * `--sig NAME`, that SIG's tree of the major instead (shared/release.ts sigRelease).
 */
export function selectedRelease(ctx: OperationContext): { release: Release; paths: ReleasePaths } {
  const base = baseRelease(ctx);
  const sig = ctx.options.sig as string | undefined;
  if (!sig) return base;
  try {
    return sigRelease(base.release, base.paths, sig);
  } catch (err) {
    throw new HostOperationError(`${ctx.operation}: ${(err as Error).message}`);
  }
}

/** The release the options name, ignoring `--sig`: a SIG's packages build on its repos. */
export function baseRelease(ctx: OperationContext): { release: Release; paths: ReleasePaths } {
  try {
    const release = resolveRelease(ctx.config, {
      major: ctx.options.major as string | undefined,
      channel: ctx.options.channel as Channel | undefined,
      revision: ctx.options.revision as string | undefined,
    });
    return { release, paths: releasePaths(ctx.config, ctx.root, release) };
  } catch (err) {
    throw new HostOperationError(`${ctx.operation}: ${(err as Error).message}`);
  }
}

/** Lock owner for this run: operation and process, so a report names who holds it. */
export function lockOwner(ctx: OperationContext): string {
  return `${ctx.operation}:${process.pid}`;
}
