import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { errorMessage } from '../../shared/errors.ts';
import { KojiBatch } from '../../shared/intake/batch.ts';
import type { IntakeDeps, LaneOutcome } from '../../shared/intake/coalesce.ts';
import type { LogPort } from '../adapters/runtime.ts';

/** Optional listeners, so `releng intake koji` can report what the handler did per record. */
export interface KojiEventsObserver {
  rejected?(recordId: string, reason: string): void;
  ignored?(recordId: string, reason: string): void;
  decided?(outcome: LaneOutcome): void;
}

/**
 * The koji-events Lambda over injected ports: Powertools validates and routes each record
 * (a malformed one fails alone and, after the queue's retries, lands in the DLQ), then one
 * coalescing decision per lane; a lane whose decision fails fails its records.
 */
export function createKojiEventsHandler(
  deps: IntakeDeps,
  logger: LogPort,
  observer: KojiEventsObserver = {},
) {
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    const batch = new KojiBatch(deps);
    const handleRecord = (record: SQSRecord) => {
      try {
        const routed = batch.add(record.messageId, record.body);
        if (routed.kind === 'ignored') {
          logger.info('koji event acknowledged without compose', {
            messageId: record.messageId,
            reason: routed.reason,
          });
          observer.ignored?.(record.messageId, routed.reason);
        }
      } catch (err) {
        const reason = errorMessage(err);
        logger.error('koji event rejected', { messageId: record.messageId, reason });
        observer.rejected?.(record.messageId, reason);
        throw err;
      }
    };
    const response = await processPartialResponse(event, handleRecord, new BatchProcessor(EventType.SQS), {
      ...(context ? { context } : {}),
      throwOnFullBatchFailure: false,
    });
    const { outcomes, failures } = await batch.flush();
    for (const outcome of outcomes) {
      logger.info('lane decided', { ...outcome });
      observer.decided?.(outcome);
    }
    for (const failure of failures) {
      logger.error('koji event failed', { messageId: failure.recordId, reason: failure.reason });
      observer.rejected?.(failure.recordId, failure.reason);
      response.batchItemFailures.push({ itemIdentifier: failure.recordId });
    }
    return response;
  };
}
