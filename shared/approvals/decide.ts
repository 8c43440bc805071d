import type { ReleaseConfig } from '../config/schema.ts';
import { type ApprovalDecisionV1, ApprovalResultV1, type PendingApprovalV1 } from '../messages/index.ts';
import type { ApprovalStore, Clock, TaskCallbacks } from '../ports.ts';
import { isApprover, personOf, requesterMatching } from './identity.ts';

/**
 * Thrown by TaskCallbacks when the execution no longer waits on the token (Step Functions
 * TaskTimedOut, TaskDoesNotExist, InvalidToken): retrying cannot help.
 */
export class TaskTokenGoneError extends Error {
  override readonly name = 'TaskTokenGoneError';
}

/** The errors the promotion state machine catches on the approval task. */
export const APPROVAL_ERRORS = { rejected: 'ApprovalRejected', timedOut: 'ApprovalTimedOut' } as const;

export interface DecisionDeps {
  config: ReleaseConfig;
  approvals: ApprovalStore;
  callbacks: TaskCallbacks;
  clock: Clock;
  /** Who may decide; config.aws.approvers unless given (the local engine names its user). */
  approvers?: readonly string[];
}

export type DecisionResult =
  | { accepted: true; result: ApprovalResultV1 }
  | { accepted: false; reason: string; approvalId: string };

const OUTCOME = { approve: 'APPROVED', reject: 'REJECTED' } as const;

async function sendCallback(deps: DecisionDeps, token: string, result: ApprovalResultV1): Promise<void> {
  if (result.outcome === 'APPROVED') await deps.callbacks.succeed(token, result);
  else await deps.callbacks.fail(token, APPROVAL_ERRORS.rejected, JSON.stringify(result));
}

/** Marks an expired approval TIMED_OUT and ends the waiting task, if the execution still waits. */
async function expire(deps: DecisionDeps, pending: PendingApprovalV1, now: Date): Promise<void> {
  const result = ApprovalResultV1.parse({
    version: 1,
    outcome: 'TIMED_OUT',
    approvalId: pending.approvalId,
    digest: pending.digest,
    decidedBy: 'releng',
    decidedAt: now.toISOString(),
    reason: `no decision before ${pending.expiresAt}`,
  });
  if (!(await deps.approvals.decide(pending.approvalId, 'TIMED_OUT', result))) return;
  await deps.callbacks
    .fail(pending.taskToken, APPROVAL_ERRORS.timedOut, JSON.stringify(result))
    .catch((err) => {
      if (!(err instanceof TaskTokenGoneError)) throw err;
    });
}

/**
 * Checks a decision against the pending approval and, when it holds, ends the waiting task with
 * who, when and why. Refusals are returned with their reason (never thrown): an unknown sender,
 * a non-approver, the requester approving their own promotion (two-person rule), a digest other
 * than the pending one, an unknown, expired or already decided approval. AWS errors throw, so
 * the message is retried; a retry of a decision already recorded for the same sender only
 * repeats its callback.
 */
export async function decideApproval(
  deps: DecisionDeps,
  decision: ApprovalDecisionV1,
  sender: string | undefined,
): Promise<DecisionResult> {
  const { approvalId } = decision;
  const refuse = (reason: string): DecisionResult => ({ accepted: false, reason, approvalId });
  const outcome = OUTCOME[decision.type];

  if (!sender) return refuse('the sender is unknown (no SenderId)');
  if (!isApprover(deps.approvers ?? deps.config.aws.approvers, sender)) {
    return refuse(`sender ${sender} is not a configured approver`);
  }
  const pending = await deps.approvals.get(approvalId);
  if (!pending) return refuse(`approval ${approvalId} is unknown`);

  if (pending.status !== 'PENDING') {
    const earlier = pending.decision;
    if (
      earlier &&
      earlier.decidedBy === sender &&
      earlier.outcome === outcome &&
      earlier.digest === decision.digest
    ) {
      // The same decision again (a retry after its callback failed): repeat the callback only.
      await sendCallback(deps, pending.taskToken, earlier).catch((err) => {
        if (!(err instanceof TaskTokenGoneError)) throw err;
      });
      return { accepted: true, result: earlier };
    }
    const by = earlier ? ` by ${earlier.decidedBy} at ${earlier.decidedAt}` : '';
    return refuse(`approval ${approvalId} is already ${pending.status.toLowerCase().replace('_', ' ')}${by}`);
  }
  if (decision.digest !== pending.digest) {
    return refuse(
      `decision names digest ${decision.digest}, but approval ${approvalId} is for ${pending.digest}`,
    );
  }
  const now = deps.clock.now();
  if (now.getTime() >= Date.parse(pending.expiresAt)) {
    await expire(deps, pending, now);
    return refuse(`approval ${approvalId} expired at ${pending.expiresAt}`);
  }
  const requester = deps.config.approval.twoPersonRule
    ? requesterMatching(sender, pending.requestedBy)
    : undefined;
  if (requester) {
    const person = personOf(sender);
    const as = requester === sender || requester === person ? '' : ` (as ${requester}: both are ${person})`;
    return refuse(
      `sender ${sender} requested this promotion${as}; the two-person rule needs another approver`,
    );
  }

  const result = ApprovalResultV1.parse({
    version: 1,
    outcome,
    approvalId,
    digest: pending.digest,
    decidedBy: sender,
    decidedAt: now.toISOString(),
    ...(decision.reason ? { reason: decision.reason } : {}),
  });
  if (!(await deps.approvals.decide(approvalId, outcome, result))) {
    return refuse(`approval ${approvalId} was decided by someone else at the same time`);
  }
  try {
    await sendCallback(deps, pending.taskToken, result);
  } catch (err) {
    if (err instanceof TaskTokenGoneError) {
      return refuse(`the promotion execution no longer waits for approval ${approvalId}: ${err.message}`);
    }
    throw err;
  }
  return { accepted: true, result };
}
