import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

export interface AnyOccurrenceAlarmProps {
  readonly metric: cloudwatch.IMetric;
  readonly description: string;
  /** Where the alarm goes: the notifications topic engineers subscribe to. */
  readonly topic: sns.ITopic;
  /** Periods in a row that must count something before it alarms (default 1). */
  readonly periodsInARow?: number;
}

/**
 * The one kind of alarm the pipeline raises: anything counted in a period (a failed execution,
 * a dead letter, a failed host command) alarms once and mails the topic. No data is no trouble.
 * A source that heals itself (a poller that resumes from its checkpoint) alarms only after
 * `periodsInARow` bad periods.
 */
export function anyOccurrenceAlarm(scope: Construct, id: string, props: AnyOccurrenceAlarmProps) {
  const alarm = new cloudwatch.Alarm(scope, id, {
    metric: props.metric,
    threshold: 1,
    evaluationPeriods: props.periodsInARow ?? 1,
    datapointsToAlarm: props.periodsInARow ?? 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    alarmDescription: props.description,
  });
  alarm.addAlarmAction(new actions.SnsAction(props.topic));
  return alarm;
}
