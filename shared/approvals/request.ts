import type { ReleaseConfig } from '../config/schema.ts';
import { type ApprovalRequestInputV1, PendingApprovalV1 } from '../messages/index.ts';
import { advisoryCountOf } from '../messages/promotion.ts';
import type { ApprovalStore, Clock, Notifier } from '../ports.ts';
import { requestersOf } from './identity.ts';

export interface ApprovalRequestDeps {
  config: ReleaseConfig;
  approvals: ApprovalStore;
  notifier: Notifier;
  clock: Clock;
}

/** The exact commands an engineer runs to decide; `releng approve|reject` take these arguments. */
export function approvalCommands(approvalId: string, digest: string): { approve: string; reject: string } {
  return {
    approve: `releng approve ${approvalId} --digest ${digest}`,
    reject: `releng reject ${approvalId} --digest ${digest} --reason "<why>"`,
  };
}

const listed = (items: readonly string[], max = 30) =>
  items.length === 0
    ? '(none)'
    : items.slice(0, max).join(', ') + (items.length > max ? ` and ${items.length - max} more` : '');

/** What the approver reads: what is staged, how it differs from production, how to decide. */
export function approvalMessage(approval: PendingApprovalV1): { subject: string; message: string } {
  const { summary } = approval;
  const commands = approvalCommands(approval.approvalId, approval.digest);
  const what = approval.sig
    ? `SIG ${approval.sig} for Rocky Linux ${approval.major}`
    : `Rocky Linux ${approval.revision}`;
  const subject = `[releng] approve ${what} ${approval.channel} promotion?`;
  const message = [
    `${what} (${approval.channel}) is staged, verified and waits for approval.`,
    '',
    `Approval id:   ${approval.approvalId}`,
    `Staged digest: ${approval.digest}`,
    `Requested by:  ${requestersOf(approval.requestedBy).join(', ')} at ${approval.requestedAt}`,
    `Expires at:    ${approval.expiresAt}`,
    '',
    `Composes (${summary.composeIds.length}): ${listed(summary.composeIds)}`,
    `Advisories (${advisoryCountOf(summary)}): ${listed(summary.advisories)}${advisoryCountOf(summary) > summary.advisories.length ? ', … (all in the manifest)' : ''}`,
    `Packages: ${summary.packageCount} in ${summary.repoCount} repos`,
    `Against production: ${summary.diff.added} files added, ${summary.diff.changed} changed, ${summary.diff.removed} removed`,
    '',
    'To approve:',
    `  ${commands.approve}`,
    'To reject:',
    `  ${commands.reject}`,
  ].join('\n');
  return { subject, message };
}

/**
 * Stores the pending approval the promotion execution waits on, then tells the approvers. A
 * retry with the same task token keeps the first request's times; a decided approval is never
 * reopened.
 */
export async function requestApproval(
  deps: ApprovalRequestDeps,
  input: ApprovalRequestInputV1,
): Promise<PendingApprovalV1> {
  const existing = await deps.approvals.get(input.approvalId);
  if (existing && existing.taskToken === input.taskToken && existing.status !== 'PENDING') return existing;
  const sameRequest = existing?.taskToken === input.taskToken ? existing : undefined;
  const now = deps.clock.now();
  const { request } = input;
  const approval = PendingApprovalV1.parse({
    version: 1,
    approvalId: input.approvalId,
    taskToken: input.taskToken,
    digest: request.digest,
    major: request.major,
    channel: request.channel,
    revision: request.revision,
    ...(request.sig ? { sig: request.sig } : {}),
    summary: request.summary,
    requestedBy: request.requestedBy,
    requestedAt: sameRequest?.requestedAt ?? now.toISOString(),
    expiresAt:
      sameRequest?.expiresAt ??
      new Date(now.getTime() + deps.config.approval.timeoutHours * 3600_000).toISOString(),
    status: 'PENDING',
  });
  await deps.approvals.put(approval);
  const { subject, message } = approvalMessage(approval);
  await deps.notifier.publish(subject, message);
  return approval;
}
