import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { ExecutionStatus } from '../../shared/ports.ts';

/**
 * Step Functions at the API edge: StartExecution refuses a taken name the way the service does,
 * DescribeExecution reports what the test set. Everything behind the client is our code.
 */
export function fakeStepFunctions() {
  const client = new SFNClient({ region: 'eu-west-1' });
  const mock = mockClient(client);
  const executions = new Map<string, { input: unknown; status: ExecutionStatus }>();
  const nameOf = (arn: string) => arn.split(':').at(-1)!;
  mock.on(StartExecutionCommand).callsFake((input) => {
    if (executions.has(input.name)) {
      throw new ExecutionAlreadyExists({ message: `Execution Already Exists: ${input.name}`, $metadata: {} });
    }
    executions.set(input.name, { input: JSON.parse(input.input), status: 'RUNNING' });
    return {
      executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`,
      startDate: new Date(),
    };
  });
  mock.on(DescribeExecutionCommand).callsFake((input) => {
    const found = executions.get(nameOf(input.executionArn));
    if (!found) throw new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
    return { status: found.status, executionArn: input.executionArn };
  });
  return {
    client,
    mock,
    executions,
    starts: () => mock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input),
    finish: (name: string, status: ExecutionStatus = 'SUCCEEDED') => {
      executions.get(name)!.status = status;
    },
  };
}
