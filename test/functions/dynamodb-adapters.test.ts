import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  createDocumentClient,
  DynamoApprovalStore,
  DynamoLaneStateStore,
  DynamoLockStore,
} from '../../functions/adapters/dynamodb.ts';
import { requestApproval } from '../../shared/approvals/request.ts';
import { stateKey } from '../../shared/state-table.ts';
import { stagingReady } from './approvals.ts';
import { manualClock, testConfig } from './support.ts';

const TABLE = 'releng-state';
const NOW = Date.parse('2026-11-27T10:00:10Z') / 1000;
const clock = manualClock();
let doc: DynamoDBDocumentClient;
let ddb: AwsClientStub<DynamoDBDocumentClient>;

const conditionFailed = (item?: Record<string, unknown>) =>
  Object.assign(
    new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
    {
      Item: item,
    },
  );

beforeEach(() => {
  doc = createDocumentClient(new DynamoDBClient({ region: 'eu-west-1' }));
  ddb = mockClient(doc);
});

describe('DynamoLockStore', () => {
  it('takes a lock with a conditional put of the shared lock item shape', async () => {
    ddb.on(PutCommand).resolves({});
    const locks = new DynamoLockStore(doc, TABLE, clock);
    expect(await locks.acquire('lane:8/Rocky', 'compose-8-Rocky-x', 600)).toEqual({ acquired: true });
    const input = ddb.commandCalls(PutCommand)[0]!.args[0].input;
    expect(input.Item).toEqual({
      pk: 'LOCK#lane:8/Rocky',
      sk: 'LOCK',
      owner: 'compose-8-Rocky-x',
      expiresAtEpoch: NOW + 600,
      expiration: NOW + 600,
    });
    expect(input.ConditionExpression).toBe(
      'attribute_not_exists(pk) OR expiresAtEpoch < :now OR #owner = :owner',
    );
    expect(input.ExpressionAttributeValues).toEqual({ ':now': NOW, ':owner': 'compose-8-Rocky-x' });
  });

  it('reports who holds a lock it could not take', async () => {
    ddb
      .on(PutCommand)
      // DynamoDB returns the old item in its wire form; the document client does not unmarshall errors.
      .rejects(
        conditionFailed({
          pk: { S: 'LOCK#publish' },
          owner: { S: 'promote-1' },
          expiresAtEpoch: { N: String(NOW + 60) },
        }),
      );
    const result = await new DynamoLockStore(doc, TABLE, clock).acquire('publish', 'promote-2', 600);
    expect(result).toEqual({
      acquired: false,
      holder: { owner: 'promote-1', expiresAt: new Date((NOW + 60) * 1000).toISOString() },
    });
  });

  it('sees no holder once the lock expired, even before TTL deleted the item', async () => {
    ddb
      .on(GetCommand)
      .resolves({ Item: { ...stateKey.lock('publish'), owner: 'old', expiresAtEpoch: NOW - 1 } });
    expect(await new DynamoLockStore(doc, TABLE, clock).holder('publish')).toBeUndefined();
  });
});

describe('DynamoApprovalStore', () => {
  it('stores what approval-request writes and reads the same approval back', async () => {
    const approvals = new DynamoApprovalStore(doc, TABLE);
    ddb.on(GetCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    const approval = await requestApproval(
      { config: testConfig(), approvals, notifier: { publish: async () => {} }, clock },
      { version: 1, taskToken: 't', approvalId: 'promote-1', request: stagingReady() },
    );
    const item = ddb.commandCalls(PutCommand)[0]!.args[0].input.Item!;
    expect(item).toMatchObject({ pk: 'APPROVAL#promote-1', sk: 'APPROVAL', status: 'PENDING' });
    ddb.on(GetCommand).resolves({ Item: item });
    expect(await approvals.get('promote-1')).toEqual(approval);
  });

  it('decides only a PENDING approval, atomically', async () => {
    const approvals = new DynamoApprovalStore(doc, TABLE);
    ddb.on(UpdateCommand).resolvesOnce({}).rejects(conditionFailed());
    expect(await approvals.decide('promote-1', 'APPROVED')).toBe(true);
    expect(await approvals.decide('promote-1', 'REJECTED')).toBe(false);
    const input = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.ConditionExpression).toBe('#status = :pending');
    expect(input.Key).toEqual({ pk: 'APPROVAL#promote-1', sk: 'APPROVAL' });
  });
});

describe('DynamoLaneStateStore', () => {
  it('adds and deletes NVRs as a string set in two atomic updates', async () => {
    ddb
      .on(UpdateCommand)
      .resolvesOnce({ Attributes: { nvrs: new Set(['b-1-1', 'a-1-1', 'c-1-1']) } })
      .resolvesOnce({ Attributes: { nvrs: new Set(['b-1-1', 'a-1-1']), succeededDigest: 'd' } });
    const state = await new DynamoLaneStateStore(doc, TABLE).applyTagChanges(
      '8/Rocky',
      ['a-1-1', 'c-1-1'],
      ['c-1-1'],
    );
    expect(state).toEqual({ laneId: '8/Rocky', nvrs: ['a-1-1', 'b-1-1'], started: [], succeededDigest: 'd' });
    const [add, del] = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(add?.UpdateExpression).toBe('ADD nvrs :nvrs SET laneId = :lane');
    expect(add?.ExpressionAttributeValues?.[':nvrs']).toEqual(new Set(['a-1-1', 'c-1-1']));
    expect(del?.UpdateExpression).toBe('DELETE nvrs :nvrs SET laneId = :lane');
  });

  it('keeps the last 10 started composes', async () => {
    ddb
      .on(UpdateCommand)
      .resolvesOnce({ Attributes: { started: new Array(12).fill({}) } })
      .resolves({});
    await new DynamoLaneStateStore(doc, TABLE).recordStarted('8/Rocky', {
      executionName: 'x',
      nvrDigest: 'd',
      startedAt: '2026-11-27T10:00:10Z',
    });
    expect(ddb.commandCalls(UpdateCommand)[1]!.args[0].input.UpdateExpression).toBe(
      'REMOVE started[0], started[1]',
    );
  });
});
