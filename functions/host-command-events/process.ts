import { ScheduledEvent, SsmInvocationEvent } from '../../shared/host-commands/events.ts';
import {
  type Completion,
  completeHostCommand,
  type HostCommandDeps,
  type SweepReport,
  sweepHostCommands,
} from '../../shared/host-commands/lifecycle.ts';
import { describeIssues } from '../../shared/intake/reason.ts';
import type { LogPort } from '../adapters/runtime.ts';

export class UnknownEventError extends Error {
  override readonly name = 'UnknownEventError';
}

/**
 * host-command-events: SSM's invocation status-change events complete the waiting tasks; the
 * schedule's tick runs the reconciliation sweep, which also catches events that never came.
 */
export function createHostCommandEventsHandler(deps: HostCommandDeps, logger: LogPort) {
  return async (event: unknown): Promise<{ completion: Completion } | SweepReport> => {
    const ssm = SsmInvocationEvent.safeParse(event);
    if (ssm.success) {
      const commandId = ssm.data.detail['command-id'];
      const completion = await completeHostCommand(deps, commandId);
      logger.info('command status event', { commandId, status: ssm.data.detail.status, completion });
      return { completion };
    }
    if (ScheduledEvent.safeParse(event).success) {
      const report = await sweepHostCommands(deps);
      if (report.completed.length + report.cancelled.length > 0)
        logger.info('host command sweep', { ...report });
      return report;
    }
    throw new UnknownEventError(`not an SSM status change or a schedule tick: ${describeIssues(ssm.error)}`);
  };
}
