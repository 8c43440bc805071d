import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LAMBDA_ENV } from '../../shared/runtime-env.ts';
import { IDEMPOTENCY_PARTITION } from '../../shared/state-table.ts';
import { stagingReady } from './approvals.ts';

type Item = Record<string, AttributeValue>;

/**
 * DynamoDB at the API edge, just enough of it: items by key, conditional puts failing the way
 * Powertools' idempotency layer expects once its record is there, and its status update.
 */
function fakeDynamo() {
  const items = new Map<string, Item>();
  const keyOf = (item: Item) => `${item.pk?.S}|${item.sk?.S}`;
  const mock = mockClient(DynamoDBClient);
  mock.on(GetItemCommand).callsFake(({ Key }) => ({ Item: items.get(keyOf(Key)) }));
  mock.on(PutItemCommand).callsFake(({ Item, ConditionExpression }) => {
    const existing = items.get(keyOf(Item));
    if (ConditionExpression && existing && existing.pk?.S === IDEMPOTENCY_PARTITION) {
      throw Object.assign(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }), {
        Item: existing,
      });
    }
    items.set(keyOf(Item), Item);
    return {};
  });
  mock.on(UpdateItemCommand).callsFake(({ Key, ExpressionAttributeValues, ExpressionAttributeNames }) => {
    const item = { ...(items.get(keyOf(Key)) ?? Key) };
    for (const [placeholder, name] of Object.entries(ExpressionAttributeNames ?? {})) {
      const value = ExpressionAttributeValues?.[`:${placeholder.slice(1)}`];
      if (value) item[name as string] = value;
    }
    items.set(keyOf(Key), item);
    return {};
  });
  return { items, mock };
}

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  vi.resetModules();
});

describe('approval-request entry point', () => {
  it('stores and notifies once per task token, however often the Lambda is retried', async () => {
    process.env[LAMBDA_ENV.stateTable] = 'releng-state';
    process.env[LAMBDA_ENV.notificationTopicArn] = 'arn:aws:sns:eu-west-1:111111111111:approvals';
    process.env.AWS_REGION = 'eu-west-1';
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    const dynamo = fakeDynamo();
    // The approval store talks through the DocumentClient, a client of its own to the mock.
    const documents = mockClient(DynamoDBDocumentClient);
    documents.on(GetCommand).resolves({});
    documents.on(PutCommand).resolves({});
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).resolves({ MessageId: 'm' });

    const { handler } = await import('../../functions/approval-request/handler.ts');
    const input = { version: 1, taskToken: 'token-1', approvalId: 'promote-1', request: stagingReady() };
    const first = await handler(input);
    const again = await handler(input);

    expect(first).toMatchObject({ approvalId: 'promote-1', status: 'PENDING' });
    expect(again).toEqual(first);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect([...dynamo.items.values()].map((item) => [item.pk?.S, item.status?.S])).toEqual([
      [IDEMPOTENCY_PARTITION, 'COMPLETED'],
    ]);
    expect(documents.commandCalls(PutCommand).map((c) => c.args[0].input.Item?.pk)).toEqual([
      'APPROVAL#promote-1',
    ]);
    dynamo.mock.restore();
    documents.restore();
    sns.restore();
  });
});
