import { errorMessage } from '../../shared/errors.ts';
import { type HostCommandDeps, sendHostCommand } from '../../shared/host-commands/lifecycle.ts';
import type { LogPort } from '../adapters/runtime.ts';

/**
 * host-command, invoked by a pipeline with .waitForTaskToken: sends the operation's SSM command
 * and records it against the task token. It returns at once; the command's completion event
 * answers the token (host-command-events), so a long command costs the execution no polling.
 */
export function createHostCommandHandler(deps: HostCommandDeps, logger: LogPort) {
  return async (event: unknown): Promise<{ commandId: string }> => {
    try {
      const sent = await sendHostCommand(deps, event);
      logger.info('host command sent', { commandId: sent.commandId });
      return sent;
    } catch (err) {
      logger.error('host command not sent', { error: errorMessage(err) });
      throw err;
    }
  };
}
