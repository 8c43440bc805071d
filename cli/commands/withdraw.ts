import { ExecutionName, Reason } from '../../shared/messages/fields.ts';
import { parse, UsageError } from '../args.ts';
import { EXIT } from '../exit-codes.ts';
import type { Output } from '../output.ts';
import { ENGINE_OPTIONS, openEngine } from './session.ts';

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
  const engine = await openEngine(values, out, { readOnly: true });
  // The handler (promotion-events on AWS) checks the sender is one of the requesters.
  const result = await engine.decide({ version: 1, type: 'withdraw', approvalId, reason });
  if (result.sent) {
    if (values.json) out.json({ approvalId, sent: true, messageId: result.messageId });
    else
      out.line(
        `${approvalId}: withdrawal sent (message ${result.messageId}); releng status shows the outcome`,
      );
    return EXIT.OK;
  }
  if (!result.accepted) {
    if (values.json) out.json({ approvalId, withdrawn: false, reason: result.reason });
    out.error(`releng withdraw: ${result.reason}`);
    return EXIT.FAILED;
  }
  if (values.json) out.json({ approvalId, withdrawn: true, result: result.result });
  else out.line(`${approvalId}: withdrawn by ${result.result.decidedBy}; nothing is published (${reason})`);
  return EXIT.OK;
}
