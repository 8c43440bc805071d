import { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../../shared/ports.ts';
import { readLambdaEnv } from '../../shared/runtime-env.ts';
import { createDocumentClient } from '../adapters/dynamodb.ts';
import { DynamoHostCommandStore } from '../adapters/host-command-store.ts';
import { createSfnClient, SfnTaskCallbacks } from '../adapters/sfn.ts';
import { createSsmClient, SsmHostCommands } from '../adapters/ssm.ts';
import { createHostCommandHandler } from './process.ts';

const env = readLambdaEnv(['stateTable']);

/** HostCommandTaskV1 (from a pipeline, .waitForTaskToken) → `{commandId}`; the event completes it. */
export const handler = createHostCommandHandler(
  {
    commands: new SsmHostCommands(createSsmClient()),
    store: new DynamoHostCommandStore(createDocumentClient(), env.stateTable, systemClock),
    callbacks: new SfnTaskCallbacks(createSfnClient()),
    clock: systemClock,
  },
  new Logger({ serviceName: 'host-command' }),
);
