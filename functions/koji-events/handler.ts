import { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../../shared/ports.ts';
import { readLambdaEnv } from '../../shared/runtime-env.ts';
import { createDocumentClient, DynamoLaneStateStore, DynamoLockStore } from '../adapters/dynamodb.ts';
import { lambdaConfig } from '../adapters/runtime.ts';
import { createSfnClient, SfnExecutionStarter } from '../adapters/sfn.ts';
import { createKojiEventsHandler } from './process.ts';

const env = readLambdaEnv(['composeStateMachineArn', 'stateTable']);
const doc = createDocumentClient();

/** SQS koji queue → SQSBatchResponse (reportBatchItemFailures). */
export const handler = createKojiEventsHandler(
  {
    config: lambdaConfig(),
    lanes: new DynamoLaneStateStore(doc, env.stateTable),
    locks: new DynamoLockStore(doc, env.stateTable, systemClock),
    starter: new SfnExecutionStarter(createSfnClient(), { compose: env.composeStateMachineArn }),
    clock: systemClock,
  },
  new Logger({ serviceName: 'koji-events' }),
);
