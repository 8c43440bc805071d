import { withdrawApproval } from '../../shared/approvals/withdraw.ts';
import { ExecutionName, Reason } from '../../shared/messages/fields.ts';
import { systemClock } from '../../shared/ports.ts';
import { parse, UsageError } from '../args.ts';
import { localUser } from '../engine/local-app.ts';
import { EXIT } from '../exit-codes.ts';
import { shareWithGroupIfRootIs } from '../local/shared-root.ts';
import type { Output } from '../output.ts';
import { ENGINE_OPTIONS, engineKind, openAws, openLocal } from './session.ts';

export const WITHDRAW_OPTIONS = { ...ENGINE_OPTIONS, reason: { type: 'string' } } as const;

/** Room the `withdrawn by the requester: ` prefix leaves in a decision's reason. */
const REASON_MAX = 1000 - 'withdrawn by the requester: '.length;

/**
 * `releng withdraw ID --reason WHY`: the requester takes back their own pending request; the
 * promotion ends NOT PUBLISHED (REJECTED by the requester) with the reason. Anyone else is refused.
 */
export async function withdrawCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, WITHDRAW_OPTIONS);
  const [approvalId, extra] = positionals;
  if (!approvalId || !ExecutionName.safeParse(approvalId).success) {
    throw new UsageError(
      `withdraw needs an approval id (see releng approvals), got ${JSON.stringify(approvalId)}`,
    );
  }
  if (extra) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
  const reason = values.reason?.trim() ?? '';
  const checked = Reason.max(REASON_MAX, { message: `is longer than ${REASON_MAX} characters` }).safeParse(
    reason,
  );
  if (!reason) throw new UsageError('withdraw needs --reason "<why>"');
  if (!checked.success) throw new UsageError(`--reason: ${checked.error.issues[0]!.message}`);
  if (engineKind(values) === 'aws') {
    // promotion-events checks the sender (SQS's SenderId) is one of the requesters.
    const messageId = await (await openAws(values)).sendDecision({
      version: 1,
      type: 'withdraw',
      approvalId,
      reason,
    });
    if (values.json) out.json({ approvalId, sent: true, messageId });
    else out.line(`${approvalId}: withdrawal sent (message ${messageId}); releng status shows the outcome`);
    return EXIT.OK;
  }
  shareWithGroupIfRootIs(values.root ?? '.releng');
  const session = await openLocal(values, out, { readOnly: true });
  const result = await withdrawApproval(
    {
      config: session.config,
      approvals: session.adapters.approvals,
      callbacks: session.engine.tokens,
      clock: systemClock,
    },
    approvalId,
    localUser(),
    reason,
  );
  if (!result.accepted) {
    if (values.json) out.json({ approvalId, withdrawn: false, reason: result.reason });
    out.error(`releng withdraw: ${result.reason}`);
    return EXIT.FAILED;
  }
  if (values.json) out.json({ approvalId, withdrawn: true, result: result.result });
  else out.line(`${approvalId}: withdrawn by ${result.result.decidedBy}; nothing is published (${reason})`);
  return EXIT.OK;
}
