import { ApprovalResultV1 } from '../messages/index.ts';
import { APPROVAL_ERRORS, type DecisionDeps, type DecisionResult, TaskTokenGoneError } from './decide.ts';
import { requesterMatching } from './identity.ts';

/**
 * The requester takes back their own pending request: the approval ends REJECTED by them with
 * `withdrawn by the requester: WHY`, and the promotion ends without publishing, as on a
 * rejection. Anyone who is not one of its requesters (by personOf) is refused; so are unknown,
 * expired and decided approvals. Refusals are returned, never thrown.
 */
export async function withdrawApproval(
  deps: Omit<DecisionDeps, 'approvers'>,
  approvalId: string,
  sender: string,
  reason: string,
): Promise<DecisionResult> {
  const refuse = (why: string): DecisionResult => ({ accepted: false, reason: why, approvalId });
  const pending = await deps.approvals.get(approvalId);
  if (!pending) return refuse(`approval ${approvalId} is unknown`);
  if (pending.status !== 'PENDING') {
    const earlier = pending.decision;
    const by = earlier ? ` by ${earlier.decidedBy} at ${earlier.decidedAt}` : '';
    return refuse(`approval ${approvalId} is already ${pending.status.toLowerCase().replace('_', ' ')}${by}`);
  }
  if (!requesterMatching(sender, pending.requestedBy)) {
    return refuse(
      `${sender} did not request ${approvalId} (requested by ${pending.requestedBy}): only a requester can withdraw it; reject it instead`,
    );
  }
  const now = deps.clock.now();
  if (now.getTime() >= Date.parse(pending.expiresAt)) {
    return refuse(`approval ${approvalId} expired at ${pending.expiresAt}`);
  }
  const result = ApprovalResultV1.parse({
    version: 1,
    outcome: 'REJECTED',
    approvalId,
    digest: pending.digest,
    decidedBy: sender,
    decidedAt: now.toISOString(),
    reason: `withdrawn by the requester: ${reason}`,
  });
  if (!(await deps.approvals.decide(approvalId, 'REJECTED', result))) {
    return refuse(`approval ${approvalId} was decided by someone else at the same time`);
  }
  try {
    await deps.callbacks.fail(pending.taskToken, APPROVAL_ERRORS.rejected, JSON.stringify(result));
  } catch (err) {
    if (err instanceof TaskTokenGoneError) {
      return refuse(`the promotion execution no longer waits for approval ${approvalId}: ${err.message}`);
    }
    throw err;
  }
  return { accepted: true, result };
}
