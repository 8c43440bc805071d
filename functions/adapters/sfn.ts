import {
  DescribeExecutionCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { TaskTokenGoneError } from '../../shared/approvals/decide.ts';
import { errorMessage, errorName } from '../../shared/errors.ts';
import type { ApprovalResultV1 } from '../../shared/messages/promotion.ts';
import type {
  ExecutionStarter,
  ExecutionStatus,
  StateMachineName,
  TaskCallbacks,
} from '../../shared/ports.ts';
import { AWS_CALL_LIMITS } from './limits.ts';

export const createSfnClient = () => new SFNClient({ ...AWS_CALL_LIMITS });

export type StateMachineArns = Partial<Record<StateMachineName, string>>;

/** `arn:aws:states:r:a:stateMachine:sm` + name → `arn:aws:states:r:a:execution:sm:name`. */
export function executionArn(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

export class SfnExecutionStarter implements ExecutionStarter {
  constructor(
    private readonly sfn: SFNClient,
    private readonly arns: StateMachineArns,
  ) {}

  private arn(stateMachine: StateMachineName): string {
    const arn = this.arns[stateMachine];
    if (!arn) throw new Error(`no ARN configured for the ${stateMachine} state machine`);
    return arn;
  }

  async start(stateMachine: StateMachineName, name: string, input: unknown) {
    const stateMachineArn = this.arn(stateMachine);
    try {
      const out = await this.sfn.send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return { executionId: out.executionArn ?? executionArn(stateMachineArn, name), started: true };
    } catch (err) {
      // The name is taken: this start coalesces into the execution that has it.
      if (errorName(err) === 'ExecutionAlreadyExists') {
        return { executionId: executionArn(stateMachineArn, name), started: false };
      }
      throw err;
    }
  }

  async status(stateMachine: StateMachineName, name: string): Promise<ExecutionStatus | undefined> {
    try {
      const out = await this.sfn.send(
        new DescribeExecutionCommand({ executionArn: executionArn(this.arn(stateMachine), name) }),
      );
      return out.status as ExecutionStatus | undefined;
    } catch (err) {
      if (errorName(err) === 'ExecutionDoesNotExist') return undefined;
      throw err;
    }
  }
}

/** Errors meaning the token no longer has a waiting task: the decision came too late. */
const GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

export class SfnTaskCallbacks implements TaskCallbacks {
  constructor(private readonly sfn: SFNClient) {}

  private async call(
    command: SendTaskSuccessCommand | SendTaskFailureCommand | SendTaskHeartbeatCommand,
  ): Promise<void> {
    try {
      await this.sfn.send(command as SendTaskSuccessCommand);
    } catch (err) {
      if (GONE.has(errorName(err))) throw new TaskTokenGoneError(`${errorName(err)}: ${errorMessage(err)}`);
      throw err;
    }
  }

  succeed(taskToken: string, output: ApprovalResultV1 | Record<string, unknown>): Promise<void> {
    return this.call(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
  }

  fail(taskToken: string, error: string, cause: string): Promise<void> {
    return this.call(new SendTaskFailureCommand({ taskToken, error, cause }));
  }

  heartbeat(taskToken: string): Promise<void> {
    return this.call(new SendTaskHeartbeatCommand({ taskToken }));
  }
}
