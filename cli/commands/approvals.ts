import { ExecutionName } from '../../shared/messages/fields.ts';
import { ApprovalDecisionV1 } from '../../shared/messages/promotion.ts';
import { parse, UsageError } from '../args.ts';
import type { Output } from '../output.ts';
import { ENGINE_OPTIONS, openEngine } from './session.ts';

const DECISION_OPTIONS = {
  ...ENGINE_OPTIONS,
  reason: { type: 'string' },
  digest: { type: 'string' },
} as const;

function decisionOf(type: 'approve' | 'reject', approvalId: string, digest: string, reason?: string) {
  const parsed = ApprovalDecisionV1.safeParse({
    version: 1,
    type,
    approvalId,
    digest,
    ...(reason ? { reason } : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${issue.path.join('.') || 'decision'}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * `releng approve ID` / `releng reject ID --reason WHY`, decided as the engineer (locally at
 * once; on AWS by the promotion handler, from the queue message sent with their credentials).
 */
async function decide(type: 'approve' | 'reject', argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, DECISION_OPTIONS);
  const [approvalId] = positionals;
  // The message schema's id check: it also refuses `constructor`, `__proto__` and the like.
  if (!approvalId || !ExecutionName.safeParse(approvalId).success) {
    throw new UsageError(
      `${type} needs an approval id (see releng approvals), got ${JSON.stringify(approvalId)}`,
    );
  }
  if (type === 'reject' && !values.reason) throw new UsageError('reject needs --reason "<why>"');
  const engine = await openEngine(values, out, { readOnly: true });
  const digest = values.digest ?? (await engine.digestOf(approvalId));
  const result = await engine.decide(decisionOf(type, approvalId, digest, values.reason));
  if (result.sent) {
    if (values.json)
      out.json({ approvalId, decision: type, digest, messageId: result.messageId, sent: true });
    else out.line(`${type} of ${approvalId} sent to the promotion queue (message ${result.messageId})`);
    return 0;
  }
  if (!result.accepted) {
    if (values.json) out.json({ approvalId, decision: type, accepted: false, reason: result.reason });
    out.error(`releng ${type}: ${result.reason}`);
    return 1;
  }
  if (values.json) out.json({ approvalId, decision: type, accepted: true, result: result.result });
  else out.line(`${approvalId}: ${result.result.outcome} by ${result.result.decidedBy}`);
  return 0;
}

export const approveCommand = (argv: string[], out: Output) => decide('approve', argv, out);
export const rejectCommand = (argv: string[], out: Output) => decide('reject', argv, out);

/** `releng approvals`: pending approvals, with what each would publish. */
export async function approvalsCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parse(argv, ENGINE_OPTIONS);
  const engine = await openEngine(values, out, { readOnly: true, existingRoot: true });
  const pending = await engine.approvals();
  if (values.json) {
    out.json({ pending });
    return 0;
  }
  if (pending.length === 0) out.line('no pending approvals');
  for (const p of pending) {
    const s = p.summary as {
      composeIds: string[];
      advisories: string[];
      advisoryCount?: number;
      packageCount: number;
      diff: Record<string, number>;
    };
    out.line(`${p.approvalId}  Rocky ${p.revision}  requested by ${p.requestedBy}`);
    out.line(`  digest ${p.digest}`);
    const more = (s.advisoryCount ?? s.advisories.length) - s.advisories.length;
    out.line(
      `  composes ${s.composeIds.join(', ') || '-'}; advisories ${s.advisories.join(', ') || '-'}${more > 0 ? ` and ${more} more` : ''}`,
    );
    out.line(
      `  ${s.packageCount} packages; +${s.diff.added} ~${s.diff.changed} -${s.diff.removed} files against production`,
    );
    out.line(`  releng approve ${p.approvalId}   |   releng reject ${p.approvalId} --reason "<why>"`);
  }
  return 0;
}
