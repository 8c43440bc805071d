import { errorMessage } from '../../shared/errors.ts';
import type { HostOperationName } from '../../shared/operations.ts';
import {
  type Release,
  type ReleasePaths,
  releasePaths,
  resolveRelease,
  sigRelease,
} from '../../shared/release.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import type { OperationOptions } from '../framework/options.ts';

/** The operations that take `--major/--channel/--revision`. */
export type ReleaseOperation = {
  [K in HostOperationName]: OperationOptions<K> extends { channel: unknown; revision: unknown } ? K : never;
}[HostOperationName];

/**
 * The release an operation's `--major/--channel/--revision` select, with its paths; with
 * `--sig NAME`, that SIG's tree of the major instead (shared/release.ts sigRelease).
 */
export function selectedRelease(ctx: OperationContext<ReleaseOperation>): {
  release: Release;
  paths: ReleasePaths;
} {
  const base = baseRelease(ctx);
  const sig = 'sig' in ctx.options ? ctx.options.sig : undefined;
  if (!sig) return base;
  try {
    return sigRelease(base.release, base.paths, sig);
  } catch (err) {
    throw new HostOperationError(`${ctx.operation}: ${errorMessage(err)}`);
  }
}

/** The release the options name, ignoring `--sig`: a SIG's packages build on its repos. */
export function baseRelease(ctx: OperationContext<ReleaseOperation>): {
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
