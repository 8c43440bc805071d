import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LAMBDA_ENV } from '../../shared/runtime-env.ts';
import { anyOccurrenceAlarm } from './alarm.ts';
import { RelengFunction } from './releng-function.ts';
import type { StateTable } from './state-table.ts';

export interface KojiPollerProps {
  /** Minutes between polls (config koji.pollMinutes). */
  readonly pollMinutes: number;
  /** The koji queue the poller sends tag changes to (koji-events reads it). */
  readonly queue: sqs.IQueue;
  /** Holds the checkpoint and the sent markers. */
  readonly state: StateTable;
  /** Stage and config overrides: the function reads koji.hubUrl from them. */
  readonly commonEnv: Record<string, string>;
  /** Where the failure alarm goes. */
  readonly alarmTopic: sns.ITopic;
}

export class KojiPollerError extends Error {
  override readonly name = 'KojiPollerError';
}

/**
 * Polls a koji hub that has no message bus: an EventBridge schedule runs the koji-poller Lambda,
 * which reads the hub's tag history since its checkpoint and sends the tag changes to the koji
 * queue. Runs that fail (hub down, a fault) raise an alarm; the next run continues from the
 * checkpoint, so nothing is lost while they fail.
 */
export class KojiPoller extends Construct {
  readonly function: RelengFunction;
  readonly schedule: events.Rule;
  readonly failureAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: KojiPollerProps) {
    super(scope, id);
    if (!Number.isInteger(props.pollMinutes) || props.pollMinutes < 1 || props.pollMinutes > 1440) {
      throw new KojiPollerError(`${id}: pollMinutes ${props.pollMinutes} is not between 1 and 1440`);
    }
    this.function = new RelengFunction(this, 'Function', {
      handlerName: 'koji-poller',
      // A backlog is worked off in pages; a run ends well before the next one is due.
      timeout: Duration.minutes(Math.min(5, props.pollMinutes * 2)),
      environment: {
        ...props.commonEnv,
        [LAMBDA_ENV.kojiQueueUrl]: props.queue.queueUrl,
      },
    });
    props.queue.grantSendMessages(this.function);
    props.state.bindTo(this.function);
    this.schedule = new events.Rule(this, 'Schedule', {
      description: `Poll the koji hub every ${props.pollMinutes} minute(s)`,
      schedule: events.Schedule.rate(Duration.minutes(props.pollMinutes)),
      // A failed run is not retried: the next scheduled one continues from the checkpoint.
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
    });
    this.failureAlarm = anyOccurrenceAlarm(this, 'FailureAlarm', {
      metric: this.function.metricErrors({ period: Duration.minutes(Math.max(5, props.pollMinutes)) }),
      periodsInARow: 3,
      description: `${id}: the koji hub poller has failed three periods in a row`,
      topic: props.alarmTopic,
    });
  }
}
