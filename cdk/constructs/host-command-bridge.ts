import { Aws, Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ENDED_FROM_OUTSIDE } from '../../shared/host-commands/events.ts';
import { FINAL_HOST_COMMAND_STATUSES } from '../../shared/ports.ts';
import { RelengFunction } from './releng-function.ts';
import type { StateTable } from './state-table.ts';

/** How often the reconciliation sweep looks at every running host command. */
export const HOST_COMMAND_SWEEP = Duration.minutes(5);

export interface HostCommandBridgeProps {
  readonly state: StateTable;
  /** The compose hosts commands may be sent to. */
  readonly instanceIds: readonly string[];
  readonly commonEnv: Record<string, string>;
}

/**
 * How the pipelines run host commands without polling: the host-command Lambda sends each
 * command under its task's token; SSM's invocation status-change events, through an
 * EventBridge rule, reach host-command-events, which answers the token; a schedule runs the
 * same Lambda as a reconciliation sweep (events are best effort) that also keeps the tasks'
 * heartbeats. When an execution is aborted or times out, execution-cleanup cancels its
 * commands and releases its locks, which no Catch would.
 */
export class HostCommandBridge extends Construct {
  readonly sender: RelengFunction;
  readonly completer: RelengFunction;
  readonly cleanup: RelengFunction;
  private readonly cleanupRule: events.Rule;

  constructor(scope: Construct, id: string, props: HostCommandBridgeProps) {
    super(scope, id);
    const environment = props.commonEnv;
    this.sender = new RelengFunction(this, 'HostCommand', { handlerName: 'host-command', environment });
    this.completer = new RelengFunction(this, 'HostCommandEvents', {
      handlerName: 'host-command-events',
      environment,
      timeout: Duration.minutes(2),
    });
    this.cleanup = new RelengFunction(this, 'ExecutionCleanup', {
      handlerName: 'execution-cleanup',
      environment,
      timeout: Duration.minutes(1),
    });
    for (const fn of [this.sender, this.completer, this.cleanup]) props.state.bindTo(fn);

    const arn = (service: string, resource: string) =>
      `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
    this.sender.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ssm:SendCommand'],
        resources: [
          arn('ssm', 'document/*'),
          ...props.instanceIds.map((instance) => arn('ec2', `instance/${instance}`)),
        ],
      }),
    );
    // GetCommandInvocation and CancelCommand have no resource-level permissions in IAM.
    this.completer.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ssm:GetCommandInvocation', 'ssm:CancelCommand'],
        resources: ['*'],
      }),
    );
    this.cleanup.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['ssm:CancelCommand'], resources: ['*'] }),
    );
    Validations.of(this.sender).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:document/*]',
      reason:
        'the operation documents are created by this stack with generated names; SendCommand is also limited to the compose hosts',
    });

    const retry = { retryAttempts: 8, maxEventAge: Duration.hours(2) };
    new events.Rule(this, 'CommandStatusRule', {
      description: 'SSM command invocations that ended: complete the pipeline task that waits for them',
      eventPattern: {
        source: ['aws.ssm'],
        detailType: ['EC2 Command Invocation Status-change Notification'],
        detail: { status: [...FINAL_HOST_COMMAND_STATUSES] },
      },
      targets: [new targets.LambdaFunction(this.completer, retry)],
    });
    new events.Rule(this, 'SweepSchedule', {
      description: 'Reconcile running host commands: lost events, heartbeats, deadlines',
      schedule: events.Schedule.rate(HOST_COMMAND_SWEEP),
      targets: [new targets.LambdaFunction(this.completer, retry)],
    });
    this.cleanupRule = new events.Rule(this, 'ExecutionEndedRule', {
      description:
        'Pipeline executions aborted, timed out or failed: cancel their commands, free their locks',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: [...ENDED_FROM_OUTSIDE] },
      },
      targets: [new targets.LambdaFunction(this.cleanup, retry)],
    });
  }

  /** The pipelines whose tasks this completes and whose ended executions it cleans up. */
  serve(stateMachines: sfn.IStateMachine[]): void {
    for (const machine of stateMachines) machine.grantTaskResponse(this.completer);
    this.cleanupRule.addEventPattern({
      detail: { stateMachineArn: stateMachines.map((m) => m.stateMachineArn) },
    });
  }
}
