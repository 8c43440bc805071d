import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSfnClient } from '../../functions/adapters/sfn.ts';
import { LAMBDA_ENV } from '../../shared/runtime-env.ts';
import { bashBuild, COMPOSE_ARN, sqsEvent, sqsRecord } from './support.ts';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  vi.resetModules();
  vi.useRealTimers();
});

describe('Lambda entry points', () => {
  it('koji-events wires the AWS adapters from the environment and the config overrides', async () => {
    process.env[LAMBDA_ENV.composeStateMachineArn] = COMPOSE_ARN;
    process.env[LAMBDA_ENV.stateTable] = 'releng-state';
    process.env[LAMBDA_ENV.configOverrides] = JSON.stringify({ intake: { quietWindowSeconds: 60 } });
    process.env.AWS_REGION = 'eu-west-1';
    vi.useFakeTimers({ now: new Date('2026-11-27T10:01:59Z'), toFake: ['Date'] });
    const sfn = mockClient(SFNClient);
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn' });
    const ddb = mockClient(DynamoDBDocumentClient);
    ddb.on(UpdateCommand).resolves({ Attributes: { nvrs: new Set(['bash-4.4-1.el8']) } });
    ddb.on(GetCommand).resolves({});

    const { handler } = await import('../../functions/koji-events/handler.ts');
    const response = await handler(sqsEvent([sqsRecord('a', bashBuild(1))]));
    expect(response.batchItemFailures).toEqual([]);
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toMatchObject({
      stateMachineArn: COMPOSE_ARN,
      name: 'compose-8-Rocky-20261127T100100Z',
    });
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.TableName).toBe('releng-state');
    sfn.restore();
    ddb.restore();
  });

  it('refuses to start without its environment, naming what is missing', async () => {
    delete process.env[LAMBDA_ENV.promotionStateMachineArn];
    delete process.env[LAMBDA_ENV.stateTable];
    await expect(import('../../functions/promotion-events/handler.ts')).rejects.toThrow(
      'missing environment variables: PROMOTION_STATE_MACHINE_ARN, STATE_TABLE_NAME',
    );
  });

  it('refuses config overrides that are not JSON, naming the variable', async () => {
    process.env[LAMBDA_ENV.stateTable] = 'releng-state';
    process.env[LAMBDA_ENV.notificationTopicArn] = 'arn:aws:sns:eu-west-1:111111111111:t';
    process.env[LAMBDA_ENV.configOverrides] = '{not json';
    await expect(import('../../functions/approval-request/handler.ts')).rejects.toThrow(
      /^RELENG_CONFIG_OVERRIDES is not JSON/,
    );
  });

  it('bounds every AWS call: 3 attempts at most', async () => {
    expect(await createSfnClient().config.maxAttempts()).toBe(3);
  });
});
