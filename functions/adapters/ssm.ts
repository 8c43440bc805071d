import {
  CancelCommandCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { errorName } from '../../shared/errors.ts';
import type {
  HostCommandInvocation,
  HostCommandRequest,
  HostCommandStatus,
  HostCommands,
} from '../../shared/ports.ts';
import { AWS_CALL_LIMITS } from './limits.ts';

export const createSsmClient = () => new SSMClient({ ...AWS_CALL_LIMITS });

/** SSM Run Command on the compose hosts: the AWS side of the HostCommands port. */
export class SsmHostCommands implements HostCommands {
  constructor(private readonly ssm: Pick<SSMClient, 'send'>) {}

  async send(request: HostCommandRequest): Promise<{ commandId: string }> {
    const out = await this.ssm.send(
      new SendCommandCommand({
        DocumentName: request.documentName,
        InstanceIds: [request.instanceId],
        Parameters: request.parameters,
        ...(request.comment ? { Comment: request.comment.slice(0, 100) } : {}),
        ...(request.deliveryTimeoutSeconds ? { TimeoutSeconds: request.deliveryTimeoutSeconds } : {}),
        ...(request.outputLogGroup
          ? {
              CloudWatchOutputConfig: {
                CloudWatchLogGroupName: request.outputLogGroup,
                CloudWatchOutputEnabled: true,
              },
            }
          : {}),
      }),
    );
    const commandId = out.Command?.CommandId;
    if (!commandId) throw new Error(`SendCommand ${request.documentName} returned no CommandId`);
    return { commandId };
  }

  async get(commandId: string, instanceId: string): Promise<HostCommandInvocation | undefined> {
    try {
      const out = await this.ssm.send(
        new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
      );
      return {
        commandId,
        instanceId,
        status: (out.Status ?? 'Pending') as HostCommandStatus,
        statusDetails: out.StatusDetails ?? '',
        responseCode: out.ResponseCode ?? -1,
        stdout: out.StandardOutputContent ?? '',
        stderr: out.StandardErrorContent ?? '',
      };
    } catch (err) {
      if (errorName(err) === 'InvocationDoesNotExist') return undefined;
      throw err;
    }
  }

  async cancel(commandId: string): Promise<void> {
    try {
      await this.ssm.send(new CancelCommandCommand({ CommandId: commandId }));
    } catch (err) {
      // Already finished or gone: there is nothing left to stop.
      if (['InvalidCommandId', 'DuplicateInstanceId'].includes(errorName(err))) return;
      throw err;
    }
  }
}
