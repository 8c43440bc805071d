import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ZodError } from 'zod';
import { joinPromotionBatch } from '../../shared/approvals/batch.ts';
import { type DecisionDeps, decideApproval } from '../../shared/approvals/decide.ts';
import { joinRequesters, requestersOf } from '../../shared/approvals/identity.ts';
import { startPromotion } from '../../shared/approvals/promotion.ts';
import { LOCAL_PIPELINE_SENDERS, stagingReadyRefusal } from '../../shared/approvals/staging-ready.ts';
import { withdrawApproval } from '../../shared/approvals/withdraw.ts';
import { errorMessage } from '../../shared/errors.ts';
import {
  cleanReason,
  describeIssues,
  parseJsonBody,
  RejectedMessageError,
} from '../../shared/intake/reason.ts';
import { PromotionEventV1 } from '../../shared/messages/promotion.ts';
import type { ExecutionStarter, LaneStateStore, PromotionBatchStore } from '../../shared/ports.ts';
import type { LogPort } from '../adapters/runtime.ts';

export interface PromotionEventsDeps extends DecisionDeps {
  starter: ExecutionStarter;
  /**
   * SenderIds staging-ready is accepted from: on AWS the staging state machine's role id
   * (PIPELINE_SENDER_IDS), locally LOCAL_PIPELINE_SENDERS (the default).
   */
  pipelineSenders?: readonly string[];
  /** Where intake recorded every requester of a compose (LaneStateStore.requesters). */
  lanes?: Pick<LaneStateStore, 'requesters'>;
  /**
   * Promotion batches in the state table: staging-ready messages within the configured window
   * join one promotion. Without it each message starts a promotion of its own release.
   */
  batches?: PromotionBatchStore;
}

/**
 * The promotion-events Lambda over injected ports. staging-ready, accepted only from the staging
 * pipeline (SenderId) for a configured release, joins the open promotion batch (once per
 * release; shared/approvals/batch.ts), or without a batch store starts the promotion of that
 * digest (once: the execution name is the digest's); approve / reject are checked against the
 * pending approval with the sender SQS vouches for (attributes.SenderId, never a body field or
 * message attribute). A refused decision fails its record with the reason, so it ends in the
 * DLQ as evidence rather than vanishing.
 */
export function createPromotionEventsHandler(deps: PromotionEventsDeps, logger: LogPort) {
  const handleRecord = async (record: SQSRecord) => {
    const messageId = record.messageId;
    try {
      const parsed = PromotionEventV1.safeParse(parseJsonBody(record.body));
      if (!parsed.success) throw new RejectedMessageError(describeIssues(parsed.error));
      const message = parsed.data;
      const sender = record.attributes?.SenderId;
      if (message.type === 'staging-ready') {
        const refusal = stagingReadyRefusal(
          deps.config,
          message,
          sender,
          deps.pipelineSenders ?? LOCAL_PIPELINE_SENDERS,
        );
        if (refusal) throw new RejectedMessageError(`staging-ready refused: ${refusal}`);
        // Taggers whose builds joined the compose after it started request it too.
        const joined = message.requestId && deps.lanes ? await deps.lanes.requesters(message.requestId) : [];
        const ready = joined.length
          ? { ...message, requestedBy: joinRequesters([...requestersOf(message.requestedBy), ...joined]) }
          : message;
        if (deps.batches) {
          const joined = await joinPromotionBatch({ ...deps, batches: deps.batches }, ready);
          logger.info(joined.added ? 'release joined a promotion batch' : 'release already in a batch', {
            messageId,
            ...joined,
            digest: message.digest,
            ...(message.sig ? { sig: message.sig } : {}),
            sender,
          });
          return;
        }
        const { executionName, started } = await startPromotion(deps.starter, ready);
        logger.info(started ? 'promotion started' : 'promotion already started', {
          messageId,
          executionName,
          digest: message.digest,
          sender,
        });
        return;
      }
      if (message.type === 'withdraw') {
        // The requester is who SQS says sent it, never a name in the body.
        if (!sender) throw new RejectedMessageError('withdraw refused: the message has no SenderId');
        const withdrawn = await withdrawApproval(deps, message.approvalId, sender, message.reason);
        if (!withdrawn.accepted) throw new RejectedMessageError(`withdraw refused: ${withdrawn.reason}`);
        logger.info('approval withdrawn', { messageId, ...withdrawn.result });
        return;
      }
      const decision = await decideApproval(deps, message, sender);
      if (!decision.accepted) throw new RejectedMessageError(`decision refused: ${decision.reason}`);
      logger.info('approval decided', { messageId, ...decision.result });
    } catch (err) {
      // One line whatever failed: a schema error deep in a store is described, not dumped.
      const reason = err instanceof ZodError ? describeIssues(err) : cleanReason(errorMessage(err));
      logger.error('promotion event failed', { messageId, reason });
      throw err;
    }
  };
  return (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, handleRecord, new BatchProcessor(EventType.SQS), {
      ...(context ? { context } : {}),
      throwOnFullBatchFailure: false,
    });
}
