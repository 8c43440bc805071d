import { promotionExecutionName } from '../intake/names.ts';
import { PromotionRequestV1, type StagingReadyV1 } from '../messages/promotion.ts';
import type { ExecutionStarter } from '../ports.ts';

/**
 * Starts the promotion of one staged digest. The execution name comes from the digest, so a
 * repeated staging-ready message cannot start a second promotion of the same content; the name
 * is the approval id engineers type.
 */
export async function startPromotion(
  starter: ExecutionStarter,
  ready: StagingReadyV1,
): Promise<{ executionName: string; started: boolean }> {
  const executionName = promotionExecutionName(ready.major, ready.channel, ready.digest);
  const input = PromotionRequestV1.parse({ version: 1, releases: [ready] });
  const { started } = await starter.start('promotion', executionName, input);
  return { executionName, started };
}
