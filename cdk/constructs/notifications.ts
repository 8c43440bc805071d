import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { LAMBDA_ENV } from '../../shared/runtime-env.ts';
import { anyOccurrenceAlarm } from './alarm.ts';

export interface NotificationsProps {
  readonly emails: readonly string[];
}

/**
 * The topic approvals, failures and alarms go to: encrypted with its own key (CloudWatch alarms
 * cannot publish to a topic under the AWS-managed SNS key), TLS only, with the configured
 * email subscriptions.
 */
export class Notifications extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      enableKeyRotation: true,
      description: 'releng notifications topic',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', { masterKey: this.key, enforceSSL: true });
    // A topic policy replaces the default one, and enforceSSL's holds only a Deny: without this
    // Allow, CloudWatch alarms of this account cannot publish.
    const { account, region, partition } = Stack.of(this);
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
        },
      }),
    );
    for (const email of props.emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));
  }

  /** Gives a Lambda the topic: its ARN in the environment the adapters read, and publish. */
  bindTo(fn: lambda.Function): void {
    fn.addEnvironment(LAMBDA_ENV.notificationTopicArn, this.topic.topicArn);
    this.grantPublish(fn);
  }

  /** Lets a publisher (a state machine or Lambda role) publish to the encrypted topic. */
  grantPublish(grantee: iam.IGrantable): void {
    // Explicit actions: Topic.grantPublish would add kms:GenerateDataKey*.
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [this.key.keyArn],
      }),
    );
  }
}

export interface MonitoringProps {
  readonly topic: sns.ITopic;
  readonly stateMachines: Record<string, sfn.StateMachine>;
  readonly queues: Record<string, { queue: sqs.IQueue; deadLetterQueue: sqs.IQueue }>;
}

/** The SSM command failure alarm and a dashboard of executions, durations and queue depths. */
export class Monitoring extends Construct {
  readonly commandFailuresAlarm: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const commandFailures = new cloudwatch.MathExpression({
      expression: 'failed + timedOut',
      usingMetrics: {
        failed: new cloudwatch.Metric({
          namespace: 'AWS/SSM-RunCommand',
          metricName: 'CommandsFailed',
          statistic: 'Sum',
          period,
        }),
        timedOut: new cloudwatch.Metric({
          namespace: 'AWS/SSM-RunCommand',
          metricName: 'CommandsTimedOut',
          statistic: 'Sum',
          period,
        }),
      },
      label: 'SSM commands failed or timed out',
      period,
    });
    this.commandFailuresAlarm = anyOccurrenceAlarm(this, 'CommandFailuresAlarm', {
      metric: commandFailures,
      description: 'an SSM command on a compose host failed or timed out',
      topic: props.topic,
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(7) });
    const machines = Object.entries(props.stateMachines);
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Executions',
        width: 12,
        left: machines.flatMap(([name, sm]) => [
          sm.metricStarted({ label: `${name} started`, period: Duration.hours(1) }),
          sm.metricSucceeded({ label: `${name} succeeded`, period: Duration.hours(1) }),
          sm.metricFailed({ label: `${name} failed`, period: Duration.hours(1) }),
          sm.metricTimedOut({ label: `${name} timed out`, period: Duration.hours(1) }),
        ]),
      }),
      new cloudwatch.GraphWidget({
        title: 'Execution duration (max)',
        width: 12,
        left: machines.map(([name, sm]) =>
          sm.metricTime({ label: name, statistic: 'Maximum', period: Duration.hours(1) }),
        ),
      }),
    );
    const queues = Object.entries(props.queues);
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Queue depths',
        width: 12,
        left: queues.flatMap(([name, q]) => [
          q.queue.metricApproximateNumberOfMessagesVisible({ label: name, period }),
          q.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: `${name} DLQ`, period }),
        ]),
      }),
      new cloudwatch.GraphWidget({ title: 'Host command failures', width: 12, left: [commandFailures] }),
    );
  }
}
