import { type Lane, laneId, laneLockName } from '../../shared/lanes.ts';
import { HostOperationError, type OperationContext } from '../framework/context.ts';
import { LockHeldError, type LockLease, LockLostError } from '../framework/locks.ts';
import { lockOwner } from '../publish/release.ts';

/**
 * Runs `fn` holding the lane's file lock: compose and sync of one lane never overlap, and a
 * second sync of the lane is refused naming who holds it. `fn` gets the lease, whose fencing
 * token a writer checks (`lease.check()`) before it commits. A run that lost the lane meanwhile
 * (its heartbeat went stale and another run took it) fails. A dry run takes no lock.
 */
export async function withLaneLock<T>(
  ctx: OperationContext,
  lane: Lane,
  ttlSeconds: number,
  fn: (lease?: LockLease) => Promise<T>,
): Promise<T> {
  if (ctx.dryRun) return fn();
  try {
    return await ctx.locks.with(laneLockName(lane), lockOwner(ctx), ttlSeconds, fn);
  } catch (err) {
    if (err instanceof LockHeldError)
      throw new HostOperationError(`${ctx.operation} refused: lane ${laneId(lane)} is busy (${err.message})`);
    if (err instanceof LockLostError)
      throw new HostOperationError(
        `${ctx.operation} stopped: lane ${laneId(lane)} changed hands (${err.message})`,
      );
    throw err;
  }
}
