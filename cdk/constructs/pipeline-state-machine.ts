import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { anyOccurrenceAlarm } from './alarm.ts';

export interface PipelineStateMachineProps {
  /** Builds the definition; states are created in this construct's scope. */
  readonly definition: (scope: Construct) => sfn.IChainable;
  readonly comment: string;
  /** Upper bound for one execution. */
  readonly timeout: Duration;
  /** Where the failed/timed-out execution alarms go. */
  readonly alarmTopic: sns.ITopic;
}

/**
 * A Standard state machine with the operating defaults every pipeline gets: ALL-level logs with
 * execution data to its own log group, X-Ray tracing, an execution timeout, and alarms on failed
 * and timed-out executions. Standard executions can be redriven from the failed state.
 */
export class PipelineStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;
  readonly failedAlarm: cloudwatch.Alarm;
  readonly timedOutAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PipelineStateMachineProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.SIX_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(props.definition(this)),
      comment: props.comment,
      timeout: props.timeout,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing, log delivery (logs:CreateLogDelivery and friends) and ssm:GetCommandInvocation have no resource-level permissions',
    });
    const alarm = (name: string, metric: cloudwatch.Metric, what: string) =>
      anyOccurrenceAlarm(this, name, { metric, description: `${id}: ${what}`, topic: props.alarmTopic });
    const period = Duration.minutes(5);
    this.failedAlarm = alarm(
      'FailedAlarm',
      this.stateMachine.metricFailed({ period }),
      'an execution failed',
    );
    this.timedOutAlarm = alarm(
      'TimedOutAlarm',
      this.stateMachine.metricTimedOut({ period }),
      'an execution timed out',
    );
  }
}
