import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { ComposeRequestV1 } from '../../shared/messages/compose-request.ts';
import { ApprovalDecisionV1 } from '../../shared/messages/promotion.ts';
import { stagingReady } from '../functions/approvals.ts';
import { captureOutput as capture } from './cli-output.ts';

const sfn = mockClient(SFNClient);
const sqs = mockClient(SQSClient);
const cfn = mockClient(CloudFormationClient);

const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine';
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/promotion-events';
const DIGEST = 'a'.repeat(64);

beforeEach(() => {
  process.env.AWS_REGION = 'eu-west-1';
  sfn.reset();
  sqs.reset();
  cfn.reset();
  cfn.on(DescribeStacksCommand, { StackName: 'Releng-dev' }).resolves({
    Stacks: [
      {
        StackName: 'Releng-dev',
        CreationTime: new Date(),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: [
          { OutputKey: 'ComposeStateMachineArn', OutputValue: `${ARN}:Compose` },
          { OutputKey: 'StagingStateMachineArn', OutputValue: `${ARN}:Staging` },
          { OutputKey: 'PromotionStateMachineArn', OutputValue: `${ARN}:Promotion` },
          { OutputKey: 'PromotionQueueUrl', OutputValue: QUEUE },
        ],
      },
    ],
  });
});
afterAll(() => {
  sfn.restore();
  sqs.restore();
  cfn.restore();
});

const aws = ['--engine', 'aws', '--stack', 'Releng-dev', '--json'];

describe('releng --engine aws at the SDK edge', () => {
  it('starts the compose state machine from the stack output with a validated ComposeRequestV1', async () => {
    sfn.on(StartExecutionCommand).resolves({
      executionArn: `${ARN.replace('stateMachine', 'execution')}:Compose:c1`,
      startDate: new Date(),
    });
    const out = capture();

    const code = await main(
      ['compose', ...aws, '--major', '8', '--compose', 'Rocky', '--compose', 'Extras', '--name', 'c1'],
      out,
    );

    expect(code).toBe(0);
    const call = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(call.stateMachineArn).toBe(`${ARN}:Compose`);
    expect(call.name).toBe('c1');
    const input = ComposeRequestV1.parse(JSON.parse(call.input!));
    expect(input.composes).toEqual([
      { name: 'Rocky', kind: 'updates' },
      { name: 'Extras', kind: 'updates' },
    ]);
    expect(input.requestId).toBe('c1');
    expect(out.last()).toMatchObject({ started: true });
  });

  it('refuses bad input before any call, naming the bad value', async () => {
    const out = capture();
    const code = await main(['compose', ...aws, '--major', '8', '--compose', 'Rocky;rm -rf /'], out);
    expect(code).toBe(2);
    expect(out.errors.join('\n')).toMatch(/composes\.0\.name: not a valid name/);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('sends an approval to the promotion queue, with the digest of that release of the promotion input', async () => {
    const release = (digest: string) => stagingReady({ revision: '8.10', digest, requestedBy: 'kojira' });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: `${ARN.replace('stateMachine', 'execution')}:Promotion:promo-1`,
      stateMachineArn: `${ARN}:Promotion`,
      status: 'RUNNING',
      startDate: new Date(),
      // Two releases promoted together: approval promo-1-1 is the second one.
      input: JSON.stringify({ version: 1, releases: [release('e'.repeat(64)), release(DIGEST)] }),
    });
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const out = capture();

    expect(await main(['approve', 'promo-1-1', ...aws, '--reason', 'looks right'], out)).toBe(0);
    expect(sfn.commandCalls(DescribeExecutionCommand)[0]!.args[0].input.executionArn).toMatch(/:promo-1$/);
    const sent = sqs.commandCalls(SendMessageCommand)[0]!.args[0].input;
    expect(sent.QueueUrl).toBe(QUEUE);
    expect(ApprovalDecisionV1.parse(JSON.parse(sent.MessageBody!))).toEqual({
      version: 1,
      type: 'approve',
      approvalId: 'promo-1-1',
      digest: DIGEST,
      reason: 'looks right',
    });
    expect(out.last()).toMatchObject({ messageId: 'm-1', sent: true });
  });

  it('finds the digest of a batched promotion in the releases it read from its batch', async () => {
    const ready = (digest: string, sig?: string) =>
      stagingReady({ revision: '8.10', digest, requestedBy: 'kojira', ...(sig ? { sig } : {}) });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: `${ARN.replace('stateMachine', 'execution')}:Promotion:promote-batch-1`,
      stateMachineArn: `${ARN}:Promotion`,
      status: 'RUNNING',
      startDate: new Date(),
      input: JSON.stringify({ version: 1, batch: { id: '20261203T120000Z-0a1b2c3d', waitSeconds: 180 } }),
    });
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        {
          id: 9,
          timestamp: new Date(),
          type: 'MapStateExited',
          stateExitedEventDetails: {
            name: 'Read the batch releases',
            output: JSON.stringify({ releases: [ready('e'.repeat(64)), ready(DIGEST, 'kernel')] }),
          },
        },
      ],
    });
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-2' });
    const out = capture();
    expect(await main(['approve', 'promote-batch-1-1', ...aws, '--reason', 'sig checked'], out)).toBe(0);
    const sent = sqs.commandCalls(SendMessageCommand)[0]!.args[0].input;
    expect(ApprovalDecisionV1.parse(JSON.parse(sent.MessageBody!))).toMatchObject({
      approvalId: 'promote-batch-1-1',
      digest: DIGEST,
    });
  });

  it('will not send a rejection without a reason', async () => {
    const out = capture();
    expect(await main(['reject', 'promo-1', ...aws], out)).toBe(2);
    expect(out.errors[0]).toMatch(/--reason/);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('shows status from ListExecutions with the running step, and history from GetExecutionHistory', async () => {
    const t0 = new Date('2026-11-27T10:00:00Z');
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn.on(ListExecutionsCommand, { stateMachineArn: `${ARN}:Compose` }).resolves({
      executions: [
        {
          executionArn: `${ARN}:Compose:c1`.replace('stateMachine', 'execution'),
          stateMachineArn: `${ARN}:Compose`,
          name: 'c1',
          status: 'RUNNING',
          startDate: t0,
        },
      ],
    });
    const history = [
      { id: 1, type: 'ExecutionStarted', timestamp: t0 },
      {
        id: 2,
        type: 'TaskStateEntered',
        timestamp: new Date(t0.getTime() + 1000),
        stateEnteredEventDetails: { name: 'Compose Rocky' },
      },
      {
        id: 3,
        type: 'TaskFailed',
        timestamp: new Date(t0.getTime() + 5000),
        taskFailedEventDetails: {
          resourceType: 'aws-sdk:ssm',
          resource: 'sendCommand',
          error: 'Ssm.InvalidDocument',
          cause: 'no such document',
        },
      },
    ];
    sfn.on(GetExecutionHistoryCommand).resolves({ events: history as never });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: `${ARN}:Compose:c1`,
      stateMachineArn: `${ARN}:Compose`,
      name: 'c1',
      status: 'FAILED',
      startDate: t0,
      stopDate: new Date(t0.getTime() + 6000),
      error: 'HostCommandFailed',
      cause: 'releng-host compose: Failed',
      input: '{}',
    });

    const status = capture();
    expect(await main(['status', ...aws], status)).toBe(0);
    expect(status.last()).toMatchObject({
      executions: [{ name: 'c1', status: 'RUNNING', currentStates: ['Compose Rocky'] }],
    });

    const hist = capture();
    expect(await main(['history', 'compose:c1', ...aws], hist)).toBe(0);
    const body = hist.last() as {
      execution: { status: string; error: string };
      events: Array<{ type: string; error?: string }>;
    };
    expect(body.execution).toMatchObject({ status: 'FAILED', error: 'HostCommandFailed' });
    expect(body.events.map((e) => e.type)).toEqual(['ExecutionStarted', 'TaskStateEntered', 'TaskFailed']);
    expect(body.events[2]).toMatchObject({ error: 'Ssm.InvalidDocument', cause: 'no such document' });
    expect(sfn.commandCalls(GetExecutionHistoryCommand).at(-1)!.args[0].input.executionArn).toBe(
      'arn:aws:states:eu-west-1:123456789012:execution:Compose:c1',
    );
  });
});
