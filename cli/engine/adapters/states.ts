import type { StateMachineName } from '../../../shared/ports.ts';
import { lookupResource } from '../definitions.ts';
import type { ExecutionRecord } from '../execution-store.ts';
import type { TaskAdapter } from './types.ts';
import { serviceError } from './types.ts';

export const executionArn = (machine: StateMachineName, name: string) =>
  `arn:aws:states:local:000000000000:execution:${machine}:${name}`;

/** What the startExecution adapter needs of the engine. */
export interface LocalExecutions {
  stateMachines: Record<string, StateMachineName>;
  start(machine: StateMachineName, name: string, input: unknown): Promise<{ started: boolean }>;
  get(name: string): Promise<ExecutionRecord>;
  wait(name: string): Promise<ExecutionRecord>;
}

/**
 * `states:startExecution` (and its `.sync` forms) on the local engine: starts the named machine,
 * treats a second start with the same input as Step Functions does (the same execution), and for
 * `.sync` waits for it and fails the task when it did not succeed.
 */
export function createStartExecutionAdapter(executions: LocalExecutions): TaskAdapter {
  return async (input, task) => {
    const [, machine] = lookupResource(executions.stateMachines, input.StateMachineArn, 'state machine');
    const body = typeof input.Input === 'string' ? JSON.parse(input.Input) : (input.Input ?? {});
    const name =
      typeof input.Name === 'string'
        ? input.Name
        : `${task.execution.slice(0, 50)}-${machine}-${Date.now().toString(36)}`;
    const { started } = await executions.start(machine, name, body);
    if (!started && JSON.stringify((await executions.get(name)).input) !== JSON.stringify(body)) {
      throw serviceError(
        'StepFunctions.ExecutionAlreadyExistsException',
        `execution ${name} exists with other input`,
      );
    }
    const arn = executionArn(machine, name);
    if (task.resource.pattern !== 'sync') return { ExecutionArn: arn, StartDate: new Date().toISOString() };
    const done = await executions.wait(name);
    if (done.status !== 'SUCCEEDED') {
      throw serviceError(
        'States.TaskFailed',
        `${machine} execution ${name} ${done.status}: ${done.error ?? ''} ${done.cause ?? ''}`,
      );
    }
    // `.sync:2` returns the output as JSON, `.sync` as a JSON string, like Step Functions.
    const output = task.resource.suffix === '.sync:2' ? done.output : JSON.stringify(done.output);
    return {
      ExecutionArn: arn,
      Status: done.status,
      Output: output,
      StartDate: done.startDate,
      StopDate: done.stopDate,
    };
  };
}
