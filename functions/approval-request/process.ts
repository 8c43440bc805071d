import { type ApprovalRequestDeps, requestApproval } from '../../shared/approvals/request.ts';
import { describeIssues } from '../../shared/intake/reason.ts';
import { ApprovalRequestInputV1 } from '../../shared/messages/tasks.ts';
import type { LogPort } from '../adapters/runtime.ts';

/** Thrown for an input that does not match ApprovalRequestInputV1: a state machine bug. */
export class ApprovalRequestInputError extends Error {
  override readonly name = 'ApprovalRequestInputError';
}

export interface ApprovalRequestOutput {
  approvalId: string;
  expiresAt: string;
  status: string;
}

/**
 * Invoked with .waitForTaskToken: stores the pending approval and notifies, then returns at once.
 * The promotion execution waits until promotion-events (or `releng approve`) sends the token back.
 */
export function createApprovalRequestHandler(deps: ApprovalRequestDeps, logger: LogPort) {
  return async (event: unknown): Promise<ApprovalRequestOutput> => {
    const input = ApprovalRequestInputV1.safeParse(event);
    if (!input.success) throw new ApprovalRequestInputError(describeIssues(input.error));
    const approval = await requestApproval(deps, input.data);
    logger.info('approval requested', {
      approvalId: approval.approvalId,
      digest: approval.digest,
      requestedBy: approval.requestedBy,
      expiresAt: approval.expiresAt,
    });
    return { approvalId: approval.approvalId, expiresAt: approval.expiresAt, status: approval.status };
  };
}
