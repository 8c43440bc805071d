import { ENDED_FROM_OUTSIDE, ExecutionStatusEvent } from '../../shared/host-commands/events.ts';
import { type CleanupReport, cleanUpExecution } from '../../shared/host-commands/lifecycle.ts';
import { describeIssues } from '../../shared/intake/reason.ts';
import type { HostCommandStore, HostCommands, LockStore } from '../../shared/ports.ts';
import type { LogPort } from '../adapters/runtime.ts';
import { UnknownEventError } from '../host-command-events/process.ts';

export interface ExecutionCleanupDeps {
  commands: HostCommands;
  store: HostCommandStore;
  locks: LockStore;
}

/**
 * execution-cleanup: Step Functions runs no Catch when an execution is aborted or hits its own
 * timeout, so its status-change event brings us here to cancel its running host commands and
 * release its locks instead of leaving them for up to the lock's TTL.
 */
export function createExecutionCleanupHandler(deps: ExecutionCleanupDeps, logger: LogPort) {
  return async (event: unknown): Promise<CleanupReport | { skipped: string }> => {
    const parsed = ExecutionStatusEvent.safeParse(event);
    if (!parsed.success)
      throw new UnknownEventError(`not an execution status change: ${describeIssues(parsed.error)}`);
    const { executionArn, status } = parsed.data.detail;
    if (!(ENDED_FROM_OUTSIDE as readonly string[]).includes(status)) return { skipped: status };
    const report = await cleanUpExecution(deps, executionArn, status.toLowerCase().replace('_', ' '));
    logger.info('execution cleaned up', { executionArn, status, ...report });
    return report;
  };
}
