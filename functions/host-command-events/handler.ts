import { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../../shared/ports.ts';
import { readLambdaEnv } from '../../shared/runtime-env.ts';
import { createDocumentClient } from '../adapters/dynamodb.ts';
import { DynamoHostCommandStore } from '../adapters/host-command-store.ts';
import { createSfnClient, SfnTaskCallbacks } from '../adapters/sfn.ts';
import { createSsmClient, SsmHostCommands } from '../adapters/ssm.ts';
import { createHostCommandEventsHandler } from './process.ts';

const env = readLambdaEnv(['stateTable']);

/** SSM invocation status-change events and the sweep schedule → completed task tokens. */
export const handler = createHostCommandEventsHandler(
  {
    commands: new SsmHostCommands(createSsmClient()),
    store: new DynamoHostCommandStore(createDocumentClient(), env.stateTable, systemClock),
    callbacks: new SfnTaskCallbacks(createSfnClient()),
    clock: systemClock,
  },
  new Logger({ serviceName: 'host-command-events' }),
);
