import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { captureOutput } from '../engine/cli-output.ts';

/**
 * `releng locks` / `unlock --engine aws` at the SDK edge: the lock items of the state table,
 * DescribeExecution for whether the holder still runs, a delete conditional on the owner, and
 * the audit item beside the locks.
 */
const sfn = mockClient(SFNClient);
const cfn = mockClient(CloudFormationClient);
const ddb = mockClient(DynamoDBDocumentClient);
const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine';
const HOLDER = 'arn:aws:states:eu-west-1:123456789012:execution:Promotion:promote-8-stable-1';
const aws = ['--engine', 'aws', '--stack', 'Releng-dev', '--table', 'releng-state'];
const now = () => Math.floor(Date.now() / 1000);

beforeEach(() => {
  process.env.AWS_REGION = 'eu-west-1';
  for (const m of [sfn, cfn, ddb]) m.reset();
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'Releng-dev',
        CreationTime: new Date(),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: [{ OutputKey: 'PromotionStateMachineArn', OutputValue: `${ARN}:Promotion` }],
      },
    ],
  });
  // Taken ten minutes ago with the publish lock's 36 h ttl.
  ddb.on(ScanCommand).callsFake((input: { ExpressionAttributeValues: { ':prefix': string } }) => ({
    Items:
      input.ExpressionAttributeValues[':prefix'] === 'LOCK#'
        ? [{ pk: 'LOCK#publish', sk: 'LOCK', owner: HOLDER, expiresAtEpoch: now() + 36 * 3600 - 600 }]
        : [],
  }));
});
afterAll(() => {
  for (const m of [sfn, cfn, ddb]) m.restore();
});

const describeAs = (status: string) =>
  sfn.on(DescribeExecutionCommand, { executionArn: HOLDER }).resolves({
    executionArn: HOLDER,
    stateMachineArn: `${ARN}:Promotion`,
    name: 'promote-8-stable-1',
    status: status as 'RUNNING',
    startDate: new Date('2026-12-03T09:00:00Z'),
    input: '{}',
  });

describe('releng locks and unlock --engine aws', () => {
  it('lists the publish lock with its holder and age', async () => {
    describeAs('RUNNING');
    const out = captureOutput();
    expect(await main(['locks', ...aws, '--json'], out)).toBe(0);
    const [lock] = out.last<{ locks: Array<Record<string, unknown>> }>().locks;
    expect(lock).toMatchObject({
      name: 'publish',
      execution: 'promote-8-stable-1',
      holderStatus: 'RUNNING',
      holderSince: '2026-12-03T09:00:00.000Z',
      gone: false,
    });
    expect(Number(lock!.ageSeconds)).toBeGreaterThanOrEqual(600);
    expect(Number(lock!.ageSeconds)).toBeLessThan(660);
  });

  it('refuses a running holder, and frees an aborted one with a conditional delete and an audit item', async () => {
    describeAs('RUNNING');
    const refused = captureOutput();
    expect(await main(['unlock', 'publish', ...aws, '--reason', 'stuck'], refused)).toBe(1);
    expect(refused.errors.join('\n')).toContain('publish is held by promote-8-stable-1 (RUNNING since');
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);

    describeAs('ABORTED');
    ddb.on(DeleteCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    const out = captureOutput();
    expect(await main(['unlock', 'publish', ...aws, '--reason', 'stopped in the console'], out)).toBe(0);
    expect(ddb.commandCalls(DeleteCommand)[0]!.args[0].input).toMatchObject({
      TableName: 'releng-state',
      Key: { pk: 'LOCK#publish', sk: 'LOCK' },
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeValues: { ':owner': HOLDER },
    });
    const audit = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(audit.Item).toMatchObject({
      sk: 'AUDIT',
      entry: {
        action: 'unlock',
        lock: 'publish',
        owner: HOLDER,
        reason: 'stopped in the console',
        forced: false,
      },
    });
    expect(String(audit.Item!.pk)).toMatch(/^AUDIT#.*#unlock:publish$/);
  });

  it('needs the state table', async () => {
    delete process.env.STATE_TABLE_NAME;
    const out = captureOutput();
    expect(await main(['locks', '--engine', 'aws', '--stack', 'Releng-dev'], out)).toBe(2);
    expect(out.errors.join('\n')).toContain('--table NAME or STATE_TABLE_NAME');
  });
});
