import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../../shared/ports.ts';
import { readLambdaEnv } from '../../shared/runtime-env.ts';
import { IDEMPOTENCY_PARTITION, STATE_TABLE } from '../../shared/state-table.ts';
import { createDocumentClient, createDynamoClient, DynamoApprovalStore } from '../adapters/dynamodb.ts';
import { lambdaConfig } from '../adapters/runtime.ts';
import { createSnsClient, SnsNotifier } from '../adapters/sns.ts';
import { createApprovalRequestHandler } from './process.ts';

const env = readLambdaEnv(['stateTable', 'notificationTopicArn']);
const dynamo = createDynamoClient();
const config = lambdaConfig();

const handle = createApprovalRequestHandler(
  {
    config,
    approvals: new DynamoApprovalStore(createDocumentClient(dynamo), env.stateTable),
    notifier: new SnsNotifier(createSnsClient(), env.notificationTopicArn),
    clock: systemClock,
  },
  new Logger({ serviceName: 'approval-request' }),
);

/**
 * ApprovalRequestInputV1 → stored approval + one notification. Idempotent on the task token: a
 * Lambda retry of the same request neither stores twice nor notifies twice.
 */
export const handler = makeIdempotent(handle, {
  persistenceStore: new DynamoDBPersistenceLayer({
    tableName: env.stateTable,
    keyAttr: STATE_TABLE.partitionKey,
    sortKeyAttr: STATE_TABLE.sortKey,
    staticPkValue: IDEMPOTENCY_PARTITION,
    expiryAttr: STATE_TABLE.ttlAttribute,
    awsSdkV3Client: dynamo,
  }),
  config: new IdempotencyConfig({
    eventKeyJmesPath: 'taskToken',
    expiresAfterSeconds: Math.ceil(config.approval.timeoutHours * 3600),
  }),
});
