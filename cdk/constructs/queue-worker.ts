import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { anyOccurrenceAlarm } from './alarm.ts';
import { type FunctionName, RelengFunction } from './releng-function.ts';

export interface QueueWorkerProps {
  readonly handlerName: FunctionName;
  readonly environment?: Record<string, string>;
  /** Deliveries before a message moves to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** @default 10 */
  readonly batchSize?: number;
  /** Where the dead-letter alarm goes. */
  readonly alarmTopic: sns.ITopic;
}

export class QueueWorkerError extends Error {
  override readonly name = 'QueueWorkerError';
}

/**
 * An SQS queue and the Lambda that consumes it: SSE, TLS-only access, a dead-letter queue kept
 * for 14 days with an alarm on its depth, and an event source that reports batch item
 * failures so one bad message does not make the whole batch redeliver.
 */
export class QueueWorker extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly function: RelengFunction;
  readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: QueueWorkerProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const batchSize = props.batchSize ?? 10;
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
      throw new QueueWorkerError(`${id}: maxReceiveCount ${maxReceiveCount} is not between 1 and 1000`);
    }
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10000) {
      throw new QueueWorkerError(`${id}: batchSize ${batchSize} is not between 1 and 10000`);
    }
    const functionTimeout = Duration.seconds(30);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's guidance: at least six times the consumer's timeout.
      visibilityTimeout: Duration.seconds(functionTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.function = new RelengFunction(this, 'Function', {
      handlerName: props.handlerName,
      environment: props.environment,
      timeout: functionTimeout,
    });
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize,
        reportBatchItemFailures: true,
        maxBatchingWindow: Duration.seconds(5),
      }),
    );
    this.deadLetterAlarm = anyOccurrenceAlarm(this, 'DeadLetterAlarm', {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      description: `${id}: messages are in the dead-letter queue`,
      topic: props.alarmTopic,
    });
  }
}
