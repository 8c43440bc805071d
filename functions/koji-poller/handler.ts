import { Logger } from '@aws-lambda-powertools/logger';
import { systemClock } from '../../shared/ports.ts';
import { readLambdaEnv } from '../../shared/runtime-env.ts';
import { createDocumentClient } from '../adapters/dynamodb.ts';
import { XmlRpcKojiHub } from '../adapters/koji-hub.ts';
import {
  createSqsClient,
  DynamoKojiCheckpointStore,
  SqsKojiEventQueue,
} from '../adapters/koji-poll-stores.ts';
import { lambdaConfig } from '../adapters/runtime.ts';
import { createKojiPollerHandler } from './process.ts';

const env = readLambdaEnv(['stateTable', 'kojiQueueUrl']);
const config = lambdaConfig();
const hubUrl = config.koji.hubUrl;
if (!hubUrl) throw new Error('koji.hubUrl is not configured: the koji poller has no hub to poll');
const doc = createDocumentClient();

/** EventBridge schedule → one poll of the koji hub (returns what it did). */
export const handler = createKojiPollerHandler(
  {
    // The function's timeout bounds every call; pages are sized to fit many in one run.
    hub: new XmlRpcKojiHub(hubUrl, { timeoutMs: 60_000 }),
    checkpoints: new DynamoKojiCheckpointStore(doc, env.stateTable, systemClock),
    queue: new SqsKojiEventQueue(
      createSqsClient(),
      env.kojiQueueUrl,
      doc,
      env.stateTable,
      hubUrl,
      systemClock,
    ),
  },
  { hubId: hubUrl },
  new Logger({ serviceName: 'koji-poller' }),
);
