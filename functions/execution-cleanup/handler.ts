import { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../../shared/ports.ts';
import { readLambdaEnv } from '../../shared/runtime-env.ts';
import { createDocumentClient, DynamoLockStore } from '../adapters/dynamodb.ts';
import { DynamoHostCommandStore } from '../adapters/host-command-store.ts';
import { createSsmClient, SsmHostCommands } from '../adapters/ssm.ts';
import { createExecutionCleanupHandler } from './process.ts';

const env = readLambdaEnv(['stateTable']);
const doc = createDocumentClient();

/** Step Functions execution status changes (ABORTED, TIMED_OUT, FAILED) → commands cancelled, locks freed. */
export const handler = createExecutionCleanupHandler(
  {
    commands: new SsmHostCommands(createSsmClient()),
    store: new DynamoHostCommandStore(doc, env.stateTable, systemClock),
    locks: new DynamoLockStore(doc, env.stateTable, systemClock),
  },
  new Logger({ serviceName: 'execution-cleanup' }),
);
