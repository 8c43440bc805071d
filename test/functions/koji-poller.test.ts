import {
  CreateQueueCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDocumentClient } from '../../functions/adapters/dynamodb.ts';
import { XmlRpcKojiHub } from '../../functions/adapters/koji-hub.ts';
import { DynamoKojiCheckpointStore, SqsKojiEventQueue } from '../../functions/adapters/koji-poll-stores.ts';
import { createKojiPollerHandler } from '../../functions/koji-poller/process.ts';
import type { KojiPollOptions } from '../../shared/koji-poll/poll.ts';
import { CheckpointMovedError, type KojiCheckpointStore } from '../../shared/ports.ts';
import { LAMBDA_ENV } from '../../shared/runtime-env.ts';
import { type HubTagListing, type KojiHubStandIn, startKojiHub } from '../support/koji-hub.ts';
import { clientConfig, createMotoStateTable, describeMoto, useMoto } from '../support/moto.ts';
import { fakeStepFunctions } from './sfn-fake.ts';
import { captureLog, kojiEventsHandler, manualClock, sqsEvent, sqsRecord, tempStores } from './support.ts';

/**
 * The koji hub poller end to end: a koji hub stand-in over XML-RPC (node:http), the real SQS
 * and DynamoDB adapters against moto, and the koji-events handler reading what it enqueued.
 */

const moto = useMoto();

const RPM_TAG = { id: 301, name: 'dist-rocky8-updates-build' };
const EXTRAS_TAG = { id: 302, name: 'dist-rocky8-extras-build' };
const bash = (n: number) => ({ id: 9000 + n, name: 'bash', version: '4.4', release: `${n}.el8` });
const listing = (createEvent: number, n: number, more: Partial<HubTagListing> = {}): HubTagListing => ({
  build: bash(n),
  tag: RPM_TAG,
  createEvent,
  creator: 'releng-bot',
  ...more,
});

describeMoto(moto, 'koji hub poller (XML-RPC stand-in, SQS and DynamoDB in moto)', () => {
  let hub: KojiHubStandIn;
  let sqs: SQSClient;
  let queueUrl: string;
  let doc: ReturnType<typeof createDocumentClient>;
  let table: string;
  const clock = manualClock();

  beforeEach(async () => {
    hub = await startKojiHub();
    sqs = new SQSClient(clientConfig(moto));
    const suffix = Math.random().toString(36).slice(2, 8);
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `koji-${suffix}` }))).QueueUrl!;
    const state = await createMotoStateTable(moto, 'releng-state');
    table = state.table;
    doc = createDocumentClient(state.client);
  });
  afterEach(() => hub.close());

  const checkpoints = () => new DynamoKojiCheckpointStore(doc, table, clock);
  const poller = (options: Partial<KojiPollOptions> = {}, store: KojiCheckpointStore = checkpoints()) =>
    createKojiPollerHandler(
      {
        hub: new XmlRpcKojiHub(hub.url, { timeoutMs: 5_000 }),
        checkpoints: store,
        queue: new SqsKojiEventQueue(sqs, queueUrl, doc, table, hub.url, clock),
      },
      { hubId: hub.url, pageEvents: 10, ...options },
      captureLog(),
    );

  /** Everything on the queue, received and deleted. */
  async function drain(): Promise<Message[]> {
    const all: Message[] = [];
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
        }),
      );
      if (!Messages.length) return all;
      for (const m of Messages)
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
      all.push(...Messages);
    }
  }
  const changeKeys = (messages: Message[]) =>
    messages.map((m) => m.MessageAttributes?.kojiChange?.StringValue).sort();

  it('starts at the hub newest event, then enqueues later tags that koji-events turns into a compose', async () => {
    hub.listings.push(listing(40, 1)); // history before the first run is not replayed
    hub.lastEvent = 100;
    expect(await poller()()).toMatchObject({ started: true, from: 100, to: 100, sent: 0 });
    expect(hub.calls.map((c) => c.method)).toEqual(['getLastEvent']);

    hub.listings.push(listing(103, 2), listing(104, 3, { tag: EXTRAS_TAG, creator: 'tcooper' }));
    hub.lastEvent = 106;
    expect(await poller()()).toMatchObject({ from: 100, to: 106, pages: 1, sent: 2, skipped: 0 });
    expect(await checkpoints().get(hub.url)).toBe(106);
    expect(hub.calls.at(-1)).toEqual({ method: 'queryHistory', afterEvent: 100, beforeEvent: 107 });

    const messages = await drain();
    expect(changeKeys(messages)).toEqual(['103-tag-301-9002', '104-tag-302-9003']);
    const stores = await tempStores(clock);
    try {
      const sfn = fakeStepFunctions();
      const intake = kojiEventsHandler(stores, sfn, clock);
      const response = await intake(sqsEvent(messages.map((m) => sqsRecord(m.MessageId!, m.Body!))));
      expect(response.batchItemFailures).toEqual([]);
      expect(sfn.starts().map((s) => s.name)).toEqual([
        'compose-8-Rocky-20261127T100000Z',
        'compose-8-Extras-20261127T100000Z',
      ]);
    } finally {
      await stores.cleanup();
    }
  });

  it('moves over an empty history, and makes no query when nothing happened', async () => {
    hub.lastEvent = 10;
    await poller()();
    hub.lastEvent = 35; // other tables changed: no tag_listing rows
    expect(await poller()()).toMatchObject({ from: 10, to: 35, pages: 3, sent: 0 });
    const queries = hub.calls.length;
    expect(await poller()()).toMatchObject({ from: 35, to: 35, pages: 0, sent: 0 });
    expect(hub.calls.slice(queries).map((c) => c.method)).toEqual(['getLastEvent']);
    expect(await drain()).toEqual([]);
  });

  it('takes each change exactly once across a page boundary, untags included', async () => {
    hub.lastEvent = 100;
    await poller()();
    // Tagged in page (100,110], untagged in page (110,120]; two builds tagged in one event.
    hub.listings.push(
      listing(105, 1, { revokeEvent: 112, revoker: 'tcooper' }),
      listing(110, 2),
      listing(110, 3),
      listing(111, 4),
    );
    hub.lastEvent = 120;
    expect(await poller()()).toMatchObject({ from: 100, to: 120, pages: 2, sent: 5, skipped: 0 });
    expect(hub.calls.filter((c) => c.method === 'queryHistory')).toEqual([
      { method: 'queryHistory', afterEvent: 100, beforeEvent: 111 },
      { method: 'queryHistory', afterEvent: 110, beforeEvent: 121 },
    ]);
    const messages = await drain();
    expect(changeKeys(messages)).toEqual([
      '105-tag-301-9001',
      '110-tag-301-9002',
      '110-tag-301-9003',
      '111-tag-301-9004',
      '112-untag-301-9001',
    ]);
    const untag = messages.find((m) => m.MessageAttributes?.kojiChange?.StringValue === '112-untag-301-9001');
    expect(JSON.parse(untag!.Body!)).toEqual({
      topic: 'buildsys.untag',
      body: {
        tag: { name: 'dist-rocky8-updates-build' },
        build: { name: 'bash', version: '4.4', release: '1.el8', nvr: 'bash-4.4-1.el8' },
        user: { name: 'tcooper' },
      },
    });
  });

  it('works off a backlog over several runs, maxPages pages each', async () => {
    hub.lastEvent = 0;
    await poller()();
    hub.listings.push(listing(5, 1), listing(25, 2), listing(45, 3));
    hub.lastEvent = 50;
    expect(await poller({ maxPages: 2 })()).toMatchObject({ from: 0, to: 20, pages: 2, sent: 1 });
    expect(await poller({ maxPages: 2 })()).toMatchObject({ from: 20, to: 40, pages: 2, sent: 1 });
    expect(await poller({ maxPages: 2 })()).toMatchObject({ from: 40, to: 50, pages: 1, sent: 1 });
    expect(changeKeys(await drain())).toEqual(['25-tag-301-9002', '45-tag-301-9003', '5-tag-301-9001']);
  });

  it('keeps its checkpoint when the hub answers a fault or a row koji would not send', async () => {
    hub.lastEvent = 100;
    await poller()();
    hub.listings.push(listing(101, 1));
    hub.lastEvent = 105;
    hub.faults.push({ method: 'queryHistory', code: 1000, text: 'GenericError: database is in recovery' });
    await expect(poller()()).rejects.toThrow(
      'queryHistory: fault 1000: GenericError: database is in recovery',
    );
    expect(await checkpoints().get(hub.url)).toBe(100);

    const hostile = {
      build_id: 1,
      tag_id: 301,
      create_event: 101,
      revoke_event: null,
      creator_name: 'releng-bot',
      revoker_name: null,
      'tag.name': RPM_TAG.name,
      name: 'bash;reboot',
      version: '4.4',
      release: '1.el8',
    };
    hub.oddRows = [hostile];
    await expect(poller()()).rejects.toThrow(
      'queryHistory answered what koji does not: tag_listing.0.name: not a valid package name',
    );
    hub.oddRows = [{ ...hostile, name: 'bash', revoke_event: 104 }];
    await expect(poller()()).rejects.toThrow(
      'tag_listing.0.revoker_name: revoke_event and revoker_name must both be set or both be null',
    );
    hub.faults.push({ method: 'getLastEvent', code: 1, text: 'AuthError' });
    await expect(poller()()).rejects.toThrow('getLastEvent: fault 1: AuthError');
    expect(await checkpoints().get(hub.url)).toBe(100);
    expect(await drain()).toEqual([]);

    expect(await poller()()).toMatchObject({ from: 100, to: 105, sent: 1 });
    expect(changeKeys(await drain())).toEqual(['101-tag-301-9001']);
  });

  it('sends nothing twice when it stops between the enqueue and the checkpoint', async () => {
    hub.lastEvent = 100;
    await poller()();
    hub.listings.push(listing(101, 1), listing(102, 2), listing(115, 3));
    hub.lastEvent = 120;
    // The real store, whose second move fails as if the Lambda died right before it.
    const real = checkpoints();
    let moves = 0;
    const crashing: KojiCheckpointStore = {
      get: (h) => real.get(h),
      advance: async (h, from, to) => {
        if (++moves === 2) throw new Error('Lambda timed out');
        await real.advance(h, from, to);
      },
    };
    await expect(poller({}, crashing)()).rejects.toThrow('Lambda timed out');
    expect(await checkpoints().get(hub.url)).toBe(110);
    expect(await poller()()).toMatchObject({ from: 110, to: 120, sent: 0, skipped: 1 });
    expect(changeKeys(await drain())).toEqual(['101-tag-301-9001', '102-tag-301-9002', '115-tag-301-9003']);
  });

  it('lets only one of two racing polls move the checkpoint', async () => {
    hub.lastEvent = 100;
    await poller()();
    const store = checkpoints();
    await store.advance(hub.url, 100, 105);
    await expect(store.advance(hub.url, 100, 110)).rejects.toBeInstanceOf(CheckpointMovedError);
    hub.lastEvent = 90;
    await expect(poller()()).rejects.toThrow(/reports last event 90, behind the checkpoint 105/);
  });
});

describe('koji-poller entry point', () => {
  it('refuses to start without koji.hubUrl, and starts with it', async () => {
    const saved = { ...process.env };
    try {
      process.env[LAMBDA_ENV.stateTable] = 'releng-state';
      process.env[LAMBDA_ENV.kojiQueueUrl] = 'https://sqs.eu-west-1.amazonaws.com/111111111111/koji';
      process.env[LAMBDA_ENV.configOverrides] = '{}';
      process.env.AWS_REGION = 'eu-west-1';
      await expect(import('../../functions/koji-poller/handler.ts')).rejects.toThrow(
        'koji.hubUrl is not configured: the koji poller has no hub to poll',
      );
      vi.resetModules();
      process.env[LAMBDA_ENV.configOverrides] = JSON.stringify({
        koji: { hubUrl: 'https://koji.example.org/kojihub' },
      });
      const { handler } = await import('../../functions/koji-poller/handler.ts');
      expect(typeof handler).toBe('function');
    } finally {
      process.env = saved;
      vi.resetModules();
    }
  });
});
