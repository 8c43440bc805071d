import type { ExecutionRecord } from '../engine/execution-store.ts';

/**
 * What an execution achieved, beyond Step Functions' status: a promotion that nothing approved
 * ends in its `Production untouched` Succeed state, so SUCCEEDED alone would claim a publish
 * that never happened. Its output carries each approval's outcome, who decided and why.
 */
export type Outcome = ExecutionRecord['status'] | 'REJECTED' | 'TIMED_OUT' | 'NOT PUBLISHED';

export interface ApprovalDecision {
  approvalId: string;
  outcome: string;
  decidedBy?: string;
  reason?: string;
}

export interface ExecutionOutcome {
  outcome: Outcome;
  /** The approvals of a promotion that published nothing. */
  decisions: ApprovalDecision[];
}

interface PromotionOutput {
  decision?: { anyApproved?: boolean };
  approvals?: { items?: Array<{ approvalId?: string; approval?: Partial<ApprovalDecision> }> };
}

export function outcomeOf(record: ExecutionRecord): ExecutionOutcome {
  const output = record.output as PromotionOutput | undefined;
  if (
    record.stateMachine !== 'promotion' ||
    record.status !== 'SUCCEEDED' ||
    output?.decision?.anyApproved !== false
  ) {
    return { outcome: record.status, decisions: [] };
  }
  const decisions = (output.approvals?.items ?? []).map((item) => ({
    approvalId: item.approval?.approvalId ?? item.approvalId ?? '?',
    outcome: item.approval?.outcome ?? 'UNKNOWN',
    ...(item.approval?.decidedBy ? { decidedBy: item.approval.decidedBy } : {}),
    ...(item.approval?.reason ? { reason: item.approval.reason } : {}),
  }));
  const outcomes = decisions.map((d) => d.outcome);
  const outcome: Outcome =
    outcomes.length > 0 && outcomes.every((o) => o === 'TIMED_OUT')
      ? 'TIMED_OUT'
      : outcomes.includes('REJECTED')
        ? 'REJECTED'
        : 'NOT PUBLISHED';
  return { outcome, decisions };
}

/** Whether the execution ended well but published nothing (exit code 3). */
export const notPublished = (record: ExecutionRecord): boolean =>
  ['REJECTED', 'TIMED_OUT', 'NOT PUBLISHED'].includes(outcomeOf(record).outcome);

/** `REJECTED promote-8-…-0 by alice: kernel regression`, one line per approval. */
export function decisionLines(record: ExecutionRecord): string[] {
  return outcomeOf(record).decisions.map(
    (d) => `${d.outcome} ${d.approvalId} by ${d.decidedBy ?? 'nobody'}: ${d.reason ?? '(no reason given)'}`,
  );
}
