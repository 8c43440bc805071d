import { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../../shared/ports.ts';
import { readLambdaEnv } from '../../shared/runtime-env.ts';
import { createDocumentClient, DynamoApprovalStore, DynamoLaneStateStore } from '../adapters/dynamodb.ts';
import { DynamoPromotionBatchStore } from '../adapters/promotion-batches.ts';
import { lambdaConfig } from '../adapters/runtime.ts';
import { createSfnClient, SfnExecutionStarter, SfnTaskCallbacks } from '../adapters/sfn.ts';
import { createPromotionEventsHandler } from './process.ts';

const env = readLambdaEnv(['promotionStateMachineArn', 'stateTable', 'pipelineSenderIds']);
const sfn = createSfnClient();

/** SQS promotion queue (staging-ready, approve, reject) → SQSBatchResponse. */
export const handler = createPromotionEventsHandler(
  {
    config: lambdaConfig(),
    approvals: new DynamoApprovalStore(createDocumentClient(), env.stateTable),
    lanes: new DynamoLaneStateStore(createDocumentClient(), env.stateTable),
    batches: new DynamoPromotionBatchStore(createDocumentClient(), env.stateTable, systemClock),
    callbacks: new SfnTaskCallbacks(sfn),
    starter: new SfnExecutionStarter(sfn, { promotion: env.promotionStateMachineArn }),
    clock: systemClock,
    pipelineSenders: env.pipelineSenderIds.split(',').filter((id) => id !== ''),
  },
  new Logger({ serviceName: 'promotion-events' }),
);
