import { errorMessage, errorName } from '../../shared/errors.ts';
import {
  type KojiPollDeps,
  type KojiPollOptions,
  type KojiPollResult,
  pollKojiHub,
} from '../../shared/koji-poll/poll.ts';
import type { LogPort } from '../adapters/runtime.ts';

/**
 * The scheduled koji hub poller over injected ports: one poll per invocation. A failure is
 * logged and thrown, so the run shows as failed; the checkpoint has not moved past anything
 * that was not enqueued, and the next scheduled run continues from it.
 */
export function createKojiPollerHandler(deps: KojiPollDeps, options: KojiPollOptions, logger: LogPort) {
  return async (): Promise<KojiPollResult> => {
    try {
      const result = await pollKojiHub(deps, options);
      logger.info(result.started ? 'koji hub poll started at its newest event' : 'koji hub polled', {
        hub: options.hubId,
        ...result,
      });
      return result;
    } catch (err) {
      logger.error('koji hub poll failed', {
        hub: options.hubId,
        error: errorName(err),
        reason: errorMessage(err),
      });
      throw err;
    }
  };
}
