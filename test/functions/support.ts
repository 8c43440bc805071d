import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { createLocalAdapters } from '../../cli/local/index.ts';
import type { LogFields, LogPort } from '../../functions/adapters/runtime.ts';
import { SfnExecutionStarter } from '../../functions/adapters/sfn.ts';
import { createKojiEventsHandler } from '../../functions/koji-events/process.ts';
import { buildConfig } from '../../shared/config/load.ts';
import type { Clock, LaneStateStore, LockStore } from '../../shared/ports.ts';
import type { fakeStepFunctions } from './sfn-fake.ts';

export const COMPOSE_ARN = 'arn:aws:states:eu-west-1:111111111111:stateMachine:compose';
export const PROMOTION_ARN = 'arn:aws:states:eu-west-1:111111111111:stateMachine:promotion';

export function kojiTag(
  tag: string,
  nvr: { name: string; version: string; release: string },
  topic = 'buildsys.tag',
) {
  return JSON.stringify({
    topic,
    body: {
      tag: { name: tag },
      build: {
        ...nvr,
        nvr: `${nvr.name}-${nvr.version}-${nvr.release}`,
        id: 1234,
        extra: { koji: 'adds fields' },
      },
      user: { name: 'kojira' },
    },
  });
}

/** A tag event of build `bash-4.4-<n>.el8` into `tag`. */
export const bashBuild = (n: number, tag = 'dist-rocky8-updates-build', topic = 'buildsys.tag') =>
  kojiTag(tag, { name: 'bash', version: '4.4', release: `${n}.el8` }, topic);

export function sqsRecord(messageId: string, body: string, senderId?: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1700000000000',
      SenderId: senderId as string,
      ApproximateFirstReceiveTimestamp: '1700000000000',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:111111111111:queue',
    awsRegion: 'eu-west-1',
  };
}

export const sqsEvent = (records: SQSRecord[]): SQSEvent => ({ Records: records });

/** Bodies in batches of 10, ids `<prefix>-<n>`. */
export function batches(bodies: string[], prefix = 'm'): SQSEvent[] {
  const events: SQSEvent[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    events.push(sqsEvent(bodies.slice(i, i + 10).map((b, j) => sqsRecord(`${prefix}-${i + j}`, b))));
  }
  return events;
}

/** A clock the test moves by hand. */
export function manualClock(iso = '2026-11-27T10:00:10Z'): Clock & { advance(seconds: number): void } {
  let now = new Date(iso);
  return {
    now: () => now,
    advance: (seconds) => {
      now = new Date(now.getTime() + seconds * 1000);
    },
  };
}

/** Captures log lines, as CloudWatch would hold them. */
export function captureLog(): LogPort & { lines: Array<{ level: string; message: string } & LogFields> } {
  const lines: Array<{ level: string; message: string } & LogFields> = [];
  const at = (level: string) => (message: string, fields: LogFields) =>
    lines.push({ level, message, ...fields });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

export const testConfig = (overrides: unknown = {}) =>
  buildConfig(
    {
      aws: { approvers: ['AIDAAPPROVERONE', 'AROAROLE'] },
      ...(overrides as object),
    },
    'test',
  );

/** A temp root with the local ports: functions/' DynamoDB adapters over the engine's local table. */
export async function tempStores(clock: Clock) {
  const root = await mkdtemp(join(tmpdir(), 'releng-intake-'));
  return {
    root,
    ...createLocalAdapters(root, clock),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** The koji-events handler over `stores`' lanes and locks, starting composes on `sfn`. */
export function kojiEventsHandler(
  stores: { lanes: LaneStateStore; locks: LockStore },
  sfn: ReturnType<typeof fakeStepFunctions>,
  clock: Clock,
  log: LogPort = captureLog(),
  config = testConfig(),
) {
  const starter = new SfnExecutionStarter(sfn.client, { compose: COMPOSE_ARN });
  return createKojiEventsHandler({ config, lanes: stores.lanes, locks: stores.locks, starter, clock }, log);
}
