import { App, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRelengApp } from '../../cdk/build.ts';
import { ComposeHosts } from '../../cdk/constructs/compose-hosts.ts';
import { QueueWorker } from '../../cdk/constructs/queue-worker.ts';
import { CONFIG_GATED_FUNCTIONS, FUNCTION_NAMES } from '../../cdk/constructs/releng-function.ts';
import { DEPLOY_VARIANTS } from '../../scripts/cfn-lint-variants.ts';
import { buildConfig } from '../../shared/config/load.ts';
import { LAMBDA_ENV } from '../../shared/runtime-env.ts';
import { type CfnTemplate, EXISTING_INFRA, resourcesOf, synth } from './synth.ts';

/** Actions AWS offers no resource-level permission for: the only ones allowed on `*`. */
const UNSCOPED_ACTIONS = new Set(
  [
    'xray:PutTraceSegments',
    'xray:PutTelemetryRecords',
    'xray:GetSamplingRules',
    'xray:GetSamplingTargets',
    'logs:CreateLogDelivery',
    'logs:GetLogDelivery',
    'logs:UpdateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:DescribeResourcePolicies',
    'logs:DescribeLogGroups',
    'ssm:getcommandinvocation',
    // CancelCommand names only a command id, which IAM cannot scope.
    'ssm:CancelCommand',
  ].map((action) => action.toLowerCase()),
);

describe('the stack, created hosts and file system (default config)', () => {
  let template: Template;
  let json: CfnTemplate;
  beforeAll(() => {
    ({ template, json } = synth());
  });

  it('gives each queue an SSE dead-letter queue, TLS-only access and a depth alarm', () => {
    const queues = resourcesOf(json, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(4);
    for (const [, q] of queues) expect(q.Properties?.SqsManagedSseEnabled).toBe(true);
    const redriven = queues.filter(([, q]) => q.Properties?.RedrivePolicy);
    expect(redriven).toHaveLength(2);
    for (const [, q] of redriven) expect(q.Properties?.RedrivePolicy.maxReceiveCount).toBe(5);
    template.resourceCountIs('AWS::SQS::QueuePolicy', 4);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 },
      2,
    );
  });

  it('feeds both queues to their Lambdas reporting batch item failures', () => {
    const mappings = resourcesOf(json, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(2);
    for (const [, m] of mappings)
      expect(m.Properties?.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
  });

  it('runs every handler on Node 24, arm64, traced, tagged for the local engine', () => {
    const fns = resourcesOf(json, 'AWS::Lambda::Function').filter(([, f]) => f.Metadata?.['releng:function']);
    expect(fns.map(([, f]) => f.Metadata?.['releng:function']).sort()).toEqual(
      FUNCTION_NAMES.filter((name) => !CONFIG_GATED_FUNCTIONS.includes(name)).sort(),
    );
    for (const [, f] of fns) {
      expect(f.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
      });
      expect(f.Properties?.Environment.Variables[LAMBDA_ENV.stage]).toBe('dev');
      // The bundles carry no source maps (test/cdk/lambda-assets.test.ts), so no flag to read them.
      expect(f.Properties?.Environment.Variables.NODE_OPTIONS).toBeUndefined();
    }
    const env = (name: string) =>
      Object.keys(
        fns.find(([, f]) => f.Metadata?.['releng:function'] === name)![1].Properties?.Environment.Variables,
      );
    expect(env('koji-events')).toEqual(
      expect.arrayContaining([LAMBDA_ENV.composeStateMachineArn, LAMBDA_ENV.stateTable]),
    );
    expect(env('promotion-events')).toEqual(
      expect.arrayContaining([LAMBDA_ENV.promotionStateMachineArn, LAMBDA_ENV.stateTable]),
    );
    expect(env('approval-request')).toEqual(
      expect.arrayContaining([LAMBDA_ENV.stateTable, LAMBDA_ENV.notificationTopicArn]),
    );
  });

  it('keeps locks and approvals in one table keyed pk/sk whose TTL frees dead locks', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
    });
  });

  it('runs four Standard state machines, logging ALL with X-Ray tracing, each with failure and timeout alarms', () => {
    const machines = resourcesOf(json, 'AWS::StepFunctions::StateMachine');
    expect(machines.map(([id]) => id.replace(/StateMachine.*$/, '')).sort()).toEqual(
      ['ComposePipeline', 'MinorReleasePipeline', 'PromotionPipeline', 'StagingPipeline'].sort(),
    );
    for (const [, m] of machines) {
      expect(m.Properties).toMatchObject({
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
      });
    }
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionsFailed' }, 4);
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionsTimedOut' }, 4);
  });

  it('alarms on failed SSM commands and has a dashboard', () => {
    const alarms = resourcesOf(json, 'AWS::CloudWatch::Alarm');
    const ssm = alarms.filter(([, a]) =>
      JSON.stringify(a.Properties?.Metrics ?? []).includes('AWS/SSM-RunCommand'),
    );
    expect(ssm).toHaveLength(1);
    for (const [, a] of alarms) expect(a.Properties?.AlarmActions).toHaveLength(1);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('creates a compose host with IMDSv2 and an EFS reachable by NFS from the host only', () => {
    template.resourceCountIs('AWS::EC2::Instance', 1);
    template.hasResourceProperties('AWS::EFS::FileSystem', { Encrypted: true });
    const ingress = resourcesOf(json, 'AWS::EC2::SecurityGroupIngress');
    expect(ingress).toHaveLength(1);
    expect(ingress[0]![1].Properties).toMatchObject({ IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049 });
    expect(ingress[0]![1].Properties?.SourceSecurityGroupId).toBeDefined();
    const userData = JSON.stringify(resourcesOf(json, 'AWS::EC2::Instance')[0]![1].Properties?.UserData);
    // Mounted with efs-utils through access points (test/cdk/infra-hosts.test.ts has the details).
    for (const mount of ['/mnt/koji', '/mnt/compose', '/mnt/repos-staging', '/mnt/repos-production'])
      expect(userData).toContain(` ${mount} || return 1`);
    expect(userData).toContain('tls,iam,accesspoint=');
    template.resourceCountIs('AWS::EC2::LaunchTemplate', 1);
  });

  it('installs the host bundle with an association that reruns when the bundle changes', () => {
    const [, association] = resourcesOf(json, 'AWS::SSM::Association')[0]!;
    expect(Object.keys(association.Properties?.Parameters)).toEqual(['bundleUrl', 'configUrl']);
    expect(JSON.stringify(association.Properties?.Parameters.bundleUrl)).toMatch(/[0-9a-f]{64}/);
    expect(association.Properties?.Targets[0].Key).toBe('InstanceIds');
  });

  it('uses `*` only for actions AWS cannot scope, and no wildcard actions', () => {
    for (const [id, policy] of resourcesOf(json, 'AWS::IAM::Policy')) {
      for (const statement of policy.Properties?.PolicyDocument.Statement ?? []) {
        const actions: string[] = [statement.Action].flat();
        const resources = [statement.Resource].flat();
        for (const action of actions) expect(action, `${id}: ${action}`).not.toMatch(/\*$/);
        if (resources.includes('*')) {
          // IAM action names are case-insensitive; CallAwsService writes them camelCase.
          for (const action of actions)
            expect(UNSCOPED_ACTIONS.has(action.toLowerCase()), `${id}: ${action} on *`).toBe(true);
        }
      }
    }
  });

  it('scopes sendCommand to the operation documents and the compose host', () => {
    const statements = resourcesOf(json, 'AWS::IAM::Policy').flatMap(
      ([, p]) => p.Properties?.PolicyDocument.Statement,
    );
    const send = statements.filter((s) =>
      [s.Action].flat().some((a: string) => a.toLowerCase() === 'ssm:sendcommand'),
    );
    expect(send.length).toBeGreaterThan(0);
    for (const s of send) {
      const text = JSON.stringify(s.Resource);
      expect(text).toContain(':document/');
      expect(text).toContain(':instance/');
    }
  });

  it('lets koji-events describe compose executions only, to coalesce with a running one', () => {
    const statements = resourcesOf(json, 'AWS::IAM::Policy')
      .filter(([id]) => id.startsWith('KojiEvents'))
      .flatMap(([, p]) => p.Properties?.PolicyDocument.Statement);
    const describe = statements.filter((s) => [s.Action].flat().includes('states:DescribeExecution'));
    expect(describe).toHaveLength(1);
    expect(JSON.stringify(describe[0].Resource)).toMatch(
      /:execution:.*ComposePipelineStateMachine.*Name.*:\*/,
    );
  });

  it('outputs what the releng CLI needs to drive the deployed pipeline', () => {
    expect(Object.keys(json.Outputs ?? {})).toEqual(
      expect.arrayContaining([
        'ComposeStateMachineArn',
        'StagingStateMachineArn',
        'PromotionStateMachineArn',
        'MinorReleaseStateMachineArn',
        'PromotionQueueUrl',
      ]),
    );
  });
});

describe('the stack over existing hosts and file systems', () => {
  let template: Template;
  let json: CfnTemplate;
  let stack: Stack;
  beforeAll(() => {
    ({ template, json, stack } = synth(EXISTING_INFRA));
  });

  it('creates no instance, VPC or file system and deploys to the configured account and region', () => {
    template.resourceCountIs('AWS::EC2::Instance', 0);
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::EFS::FileSystem', 0);
    expect(stack.account).toBe('123456789012');
    expect(stack.region).toBe('eu-west-1');
  });

  it('installs the host bundle on every named host and checks each distinct file system', () => {
    template.hasResourceProperties('AWS::SSM::Association', {
      Targets: [{ Key: 'InstanceIds', Values: EXISTING_INFRA.aws.composeHosts.instanceIds }],
    });
    const statements = resourcesOf(json, 'AWS::IAM::Policy').flatMap(
      ([, p]) => p.Properties?.PolicyDocument.Statement,
    );
    const describe = statements.find((s) =>
      [s.Action].flat().includes('elasticfilesystem:DescribeFileSystems'),
    );
    expect(
      JSON.stringify(describe.Resource)
        .match(/file-system\/fs-[0-9a-f]+/g)
        ?.sort(),
    ).toEqual([
      'file-system/fs-0123456789abcdef0',
      'file-system/fs-0123456789abcdef1',
      'file-system/fs-0123456789abcdef2',
    ]);
  });

  it('sends commands to the first named host', () => {
    const definition = JSON.stringify(
      resourcesOf(json, 'AWS::StepFunctions::StateMachine')[0]![1].Properties,
    );
    expect(definition).toContain('i-0123456789abcdef0');
    expect(definition).not.toContain('i-0fedcba9876543210');
  });

  it('subscribes the notification emails', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'releng@example.org',
    });
  });
});

describe('cdk-nag', () => {
  it.each([
    ['default config', {}],
    ['existing hosts and EFS', EXISTING_INFRA],
    ...Object.entries(DEPLOY_VARIANTS).map(([name, overrides]) => [`${name} variant`, overrides]),
  ])('has no unacknowledged AwsSolutions finding with the %s', (_, overrides) => {
    const { app } = buildRelengApp({ config: buildConfig(overrides), bundling: false });
    expect(() => app.synth()).not.toThrow();
  });

  it('fails synth on a finding nobody acknowledged', () => {
    const { app, stack } = buildRelengApp({ config: buildConfig({}), bundling: false });
    new sns.Topic(stack, 'UnencryptedTopic');
    expect(() => app.synth()).toThrow(/AwsSolutions-SNS/);
  });
});

describe('construct validation', () => {
  const hostsWith = (aws: unknown) => () =>
    new ComposeHosts(new Stack(new App()), 'Hosts', { config: buildConfig({ aws }), configOverrides: {} });

  it('ComposeHosts fails when only a tag names the hosts', () => {
    expect(
      hostsWith({ composeHosts: { tag: { key: 'role', value: 'compose' } }, efs: EXISTING_INFRA.aws.efs }),
    ).toThrow(/aws.composeHosts.tag "role=compose" needs instanceIds as well/);
  });

  it('ComposeHosts fails when existing hosts come without their file systems', () => {
    expect(hostsWith({ composeHosts: { instanceIds: ['i-0123456789abcdef0'] } })).toThrow(
      /\["i-0123456789abcdef0"\] names existing hosts but aws.efs is not set/,
    );
  });

  it('ComposeHosts fails when a VPC comes without subnets', () => {
    expect(hostsWith({ vpcId: 'vpc-0abc12345def67890' })).toThrow(
      /aws.vpcId "vpc-0abc12345def67890" is set but aws.subnetIds is empty/,
    );
  });

  it('QueueWorker fails when maxReceiveCount is out of range', () => {
    const stack = new Stack(new App());
    const alarmTopic = new sns.Topic(stack, 'T');
    expect(
      () => new QueueWorker(stack, 'W', { handlerName: 'koji-events', alarmTopic, maxReceiveCount: 0 }),
    ).toThrow(/W: maxReceiveCount 0 is not between 1 and 1000/);
  });
});
