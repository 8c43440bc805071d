import type { ApprovalResultV1, PendingApprovalV1 } from './messages/promotion.ts';

/**
 * The outside world as the domain logic sees it. AWS adapters live in functions/, local ones
 * in cli/; domain code never knows which it has.
 */

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface LockHolder {
  owner: string;
  expiresAt: string;
}

/** Named locks that expire on their own, so a dead owner cannot block forever. */
export interface LockStore {
  /** Takes `name` for `owner` unless someone else holds it unexpired. Re-entrant for the same owner. */
  acquire(
    name: string,
    owner: string,
    ttlSeconds: number,
  ): Promise<{ acquired: boolean; holder?: LockHolder }>;
  /** Releases `name` if `owner` holds it; releasing a lock one does not hold is a no-op. */
  release(name: string, owner: string): Promise<void>;
  list(): Promise<Array<LockHolder & { name: string }>>;
}

export interface ApprovalStore {
  put(approval: PendingApprovalV1): Promise<void>;
  get(approvalId: string): Promise<PendingApprovalV1 | undefined>;
  /** Moves a PENDING approval to its outcome; false when it was no longer PENDING (decided twice). */
  decide(approvalId: string, outcome: ApprovalResultV1['outcome']): Promise<boolean>;
  listPending(): Promise<PendingApprovalV1[]>;
}

export interface Notifier {
  publish(subject: string, message: string): Promise<void>;
}

export type StateMachineName = 'compose' | 'staging' | 'promotion' | 'minor-release';

export interface ExecutionStarter {
  /** Starts `name` once: `started: false` when an execution of that name already exists. */
  start(
    stateMachine: StateMachineName,
    name: string,
    input: unknown,
  ): Promise<{ executionId: string; started: boolean }>;
}

/** Step Functions task-token callbacks (SendTaskSuccess / SendTaskFailure). */
export interface TaskCallbacks {
  succeed(taskToken: string, output: ApprovalResultV1): Promise<void>;
  fail(taskToken: string, error: string, cause: string): Promise<void>;
}
