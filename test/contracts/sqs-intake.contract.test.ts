import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AwsEngine } from '../../cli/engine/aws-engine.ts';
import { createLocalAdapters } from '../../cli/local/index.ts';
import { createKojiEventsHandler } from '../../functions/koji-events/process.ts';
import { createPromotionEventsHandler } from '../../functions/promotion-events/process.ts';
import { requestApproval } from '../../shared/approvals/request.ts';
import { MAX_BODY_BYTES, parseJsonBody } from '../../shared/intake/reason.ts';
import type { ExecutionStarter, TaskCallbacks } from '../../shared/ports.ts';
import { DIGEST, stagingReady } from '../functions/approvals.ts';
import { bashBuild, captureLog, manualClock, testConfig } from '../functions/support.ts';
import { clientConfig, describeMoto, REGION, useMoto } from '../support/moto.ts';

/**
 * Intake over real SQS wire traffic: messages sent with the SDK to a moto queue, received as
 * the Lambda event source receives them (system attributes included: SenderId is who SQS says
 * sent it), and handed to the koji-events and promotion-events handlers as SQS records.
 */

const moto = useMoto();

/** What the SQS event source hands a Lambda for one received message. */
function asRecord(message: Message, queueArn: string): SQSRecord {
  const a = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body!,
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount!,
      SentTimestamp: a.SentTimestamp!,
      SenderId: a.SenderId!,
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp!,
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody!,
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: REGION,
  };
}

describeMoto(moto, 'SQS intake against moto', () => {
  let sqs: SQSClient;
  let dir: string;
  const queue = async (name: string) => {
    const url = (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: { MaximumMessageSize: String(MAX_BODY_BYTES) },
        }),
      )
    ).QueueUrl!;
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    const receive = async (): Promise<SQSEvent> => {
      const got = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      return { Records: (got.Messages ?? []).map((m) => asRecord(m, attrs.Attributes!.QueueArn!)) };
    };
    return { url, receive };
  };

  beforeAll(() => {
    sqs = new SQSClient(clientConfig(moto));
    dir = mkdtempSync(join(tmpdir(), 'releng-contract-sqs-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a koji tag event sent to the queue reaches the lane state through koji-events', async () => {
    const koji = await queue('koji-events');
    await sqs.send(new SendMessageCommand({ QueueUrl: koji.url, MessageBody: bashBuild(3) }));
    const event = await koji.receive();
    expect(event.Records).toHaveLength(1);
    const clock = manualClock();
    const { lanes, locks } = createLocalAdapters(dir, clock);
    const started: string[] = [];
    const starter: ExecutionStarter = {
      start: async (_machine, name) => {
        started.push(name);
        return { executionId: name, started: true };
      },
    };
    const handler = createKojiEventsHandler(
      {
        config: testConfig(),
        lanes,
        locks,
        starter,
        clock,
      },
      captureLog(),
    );
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect((await lanes.get('8/Rocky'))?.nvrs).toEqual(['bash-4.4-3.el8']);
  });

  it('a decision sent by `releng approve --engine aws` is decided as the SenderId SQS reports', async () => {
    const promotion = await queue('promotion-events');
    const clock = manualClock();
    const { approvals } = createLocalAdapters(dir, clock);
    await requestApproval(
      { config: testConfig(), approvals, notifier: { publish: async () => {} }, clock },
      { version: 1, taskToken: 'token-1', approvalId: 'promote-8-stable-0', request: stagingReady() },
    );
    const engine = new AwsEngine(
      { stateMachines: {}, promotionQueueUrl: promotion.url },
      undefined,
      new SQSClient(clientConfig(moto)),
    );
    await engine.sendDecision({
      version: 1,
      type: 'approve',
      approvalId: 'promote-8-stable-0',
      digest: DIGEST,
    });
    const event = await promotion.receive();
    const sender = event.Records[0]?.attributes.SenderId;
    // moto reports one fixed IAM user id for every sender.
    expect(sender).toMatch(/^AIDA[A-Z0-9]+$/);
    const succeeded: Array<{ token: string; output: unknown }> = [];
    // Step Functions' side of the callback: what reaches it is the subject here.
    const callbacks: TaskCallbacks = {
      succeed: async (token, output) => {
        succeeded.push({ token, output });
      },
      fail: async () => {},
      heartbeat: async () => {},
    };
    const handler = (approvers: string[]) =>
      createPromotionEventsHandler(
        {
          config: testConfig(),
          approvals,
          callbacks,
          clock,
          approvers,
          starter: { start: async () => ({ executionId: '', started: false }) },
        },
        captureLog(),
      );
    // Not a configured approver: refused, the record fails (and would go to the DLQ).
    const refused = await handler(['AIDASOMEONEELSE'])(event);
    expect(refused.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.messageId }]);
    expect(succeeded).toEqual([]);
    expect(await handler([sender!])(event)).toEqual({ batchItemFailures: [] });
    expect(succeeded).toEqual([
      { token: 'token-1', output: expect.objectContaining({ outcome: 'APPROVED', decidedBy: sender }) },
    ]);
  });

  it('takes a body of exactly 256 KiB and refuses one byte more, naming the limit', async () => {
    const q = await queue('size-limit');
    await sqs.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: 'x'.repeat(MAX_BODY_BYTES) }));
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: 'x'.repeat(MAX_BODY_BYTES + 1) })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining(`shorter than ${MAX_BODY_BYTES} bytes`),
    });
  });

  it('moto counts a multi-byte body in characters, where SQS counts bytes', async () => {
    // 131,073 two-byte characters: 262,146 bytes, which SQS refuses. moto 5.2.1 takes it (it
    // compares len() of the decoded string), so the byte limit is asserted on our side below.
    const q = await queue('multi-byte');
    const body = 'é'.repeat(MAX_BODY_BYTES / 2 + 1);
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BODY_BYTES);
    await sqs.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: body }));
    expect((await q.receive()).Records[0]?.body).toBe(body);
  });

  it('the handlers count the 256 KiB limit in bytes, as SQS does', () => {
    const body = JSON.stringify({ pad: 'é'.repeat(MAX_BODY_BYTES / 2) });
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BODY_BYTES);
    expect(body.length).toBeLessThan(MAX_BODY_BYTES);
    expect(() => parseJsonBody(body)).toThrow(`larger than ${MAX_BODY_BYTES} bytes`);
  });
});
