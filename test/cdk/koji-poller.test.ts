import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { KojiPoller } from '../../cdk/constructs/koji-poller.ts';
import { StateTable } from '../../cdk/constructs/state-table.ts';
import { LAMBDA_ENV } from '../../shared/runtime-env.ts';
import { resourcesOf, synth } from './synth.ts';

const HUB = { koji: { hubUrl: 'https://koji.rockylinux.org/kojihub', pollMinutes: 10 } };

const pollerFunctions = (json: ReturnType<typeof synth>['json']) =>
  resourcesOf(json, 'AWS::Lambda::Function').filter(
    ([, f]) => f.Metadata?.['releng:function'] === 'koji-poller',
  );

describe('KojiPoller in the stack', () => {
  it('is deployed only when koji.hubUrl is configured', () => {
    const { json, stack } = synth({});
    expect(pollerFunctions(json)).toEqual([]);
    expect(resourcesOf(json, 'AWS::Events::Rule').filter(([id]) => id.startsWith('KojiPoller'))).toEqual([]);
    expect(stack.kojiPoller).toBeUndefined();
  });

  it('runs the koji-poller on the configured schedule, sending to the koji queue', () => {
    const { json, template, stack } = synth(HUB);
    const [[, fn] = []] = pollerFunctions(json);
    expect(fn?.Properties).toMatchObject({ Runtime: 'nodejs24.x', Timeout: 300 });
    const env = fn?.Properties?.Environment.Variables;
    expect(JSON.parse(env[LAMBDA_ENV.configOverrides])).toEqual(HUB);
    expect(env[LAMBDA_ENV.kojiQueueUrl]).toEqual({
      Ref: stack.getLogicalId(stack.kojiEvents.queue.node.defaultChild as never),
    });
    expect(env[LAMBDA_ENV.stateTable]).toBeDefined();

    const fnId = stack.getLogicalId(stack.kojiPoller!.function.node.defaultChild as never);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(10 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } }),
      ],
    });
    // It may send to the koji queue, and nothing else may it send to.
    const policies = resourcesOf(json, 'AWS::IAM::Policy').filter(([id]) => id.startsWith('KojiPoller'));
    const statements = policies.flatMap(([, p]) => p.Properties?.PolicyDocument.Statement);
    const sends = statements.filter((s) => [s.Action].flat().includes('sqs:SendMessage'));
    expect(sends.map((s) => s.Resource)).toEqual([
      { 'Fn::GetAtt': [stack.getLogicalId(stack.kojiEvents.queue.node.defaultChild as never), 'Arn'] },
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      EvaluationPeriods: 3,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^NotificationsTopic') }],
    });
  });

  it('refuses a schedule outside 1..1440 minutes', () => {
    const stack = new Stack(new App());
    const props = {
      queue: new sqs.Queue(stack, 'Q'),
      state: new StateTable(stack, 'S'),
      commonEnv: {},
      alarmTopic: new sns.Topic(stack, 'T'),
    };
    expect(() => new KojiPoller(stack, 'P', { ...props, pollMinutes: 0 })).toThrow(
      'P: pollMinutes 0 is not between 1 and 1440',
    );
  });
});
