import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileNotifier } from '../../cli/local/index.ts';
import { SnsNotifier } from '../../functions/adapters/sns.ts';
import type { Notifier } from '../../shared/ports.ts';
import { manualClock } from '../functions/support.ts';
import { clientConfig, describeMoto, useMoto } from '../support/moto.ts';

/**
 * The Notifier port: the SNS adapter publishing to a moto topic with an SQS subscription (what
 * an approver's mail or a chat bridge receives), and the local notification log, with one body.
 */

const moto = useMoto();

interface Delivered {
  subject: string;
  message: string;
}

interface NotifierBackend {
  notifier: Notifier;
  /** The notifications delivered so far, oldest first. */
  delivered(): Promise<Delivered[]>;
  cleanup(): Promise<void>;
}

const SUBJECT = '[releng] approve Rocky Linux 8.7 stable promotion?';
const MESSAGE = 'Rocky Linux 8.7 (stable) is staged.\nApproval id:   promote-8-stable-0\n';

/** Known differences of a backend, each reported to the owner of the code that has it. */
interface KnownGaps {
  /** cli/local/stores.ts FileNotifier keeps any subject; SNS refuses what SnsNotifier cleans. */
  keepsRawSubject?: boolean;
}

function notifierContract(make: () => Promise<NotifierBackend>, gaps: KnownGaps = {}) {
  let b: NotifierBackend;
  beforeAll(async () => {
    b = await make();
  });
  afterAll(() => b?.cleanup());

  it('delivers the subject and the message unchanged', async () => {
    await b.notifier.publish(SUBJECT, MESSAGE);
    expect((await b.delivered()).at(-1)).toEqual({ subject: SUBJECT, message: MESSAGE });
  });

  (gaps.keepsRawSubject ? it.fails : it)(
    'keeps a subject SNS would refuse to 100 printable characters on one line',
    async () => {
      await b.notifier.publish(`release 8.10 ✓\nline two ${'x'.repeat(200)}`, 'body');
      const { subject } = (await b.delivered()).at(-1)!;
      expect(subject.length).toBeLessThanOrEqual(100);
      expect(subject).toMatch(/^[\x20-\x7e]+$/);
      expect(subject.startsWith('release 8.10')).toBe(true);
    },
  );
}

describe('notifier on the local twin (notification log)', () =>
  notifierContract(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'releng-contract-sns-'));
    const file = join(dir, 'notifications.jsonl');
    return {
      notifier: new FileNotifier(file, manualClock()),
      delivered: async () =>
        readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((line) => {
            const { subject, message } = JSON.parse(line) as Delivered;
            return { subject, message };
          }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }));

describeMoto(moto, 'SNS against moto, delivered to an SQS subscription', () => {
  const envelopes: Array<Record<string, unknown>> = [];
  let topicArn = '';

  notifierContract(async () => {
    const sns = new SNSClient(clientConfig(moto));
    const sqs = new SQSClient(clientConfig(moto));
    topicArn = (await sns.send(new CreateTopicCommand({ Name: 'releng-notifications' }))).TopicArn!;
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'approver-inbox' }))).QueueUrl!;
    const queueArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes!.QueueArn!;
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));
    return {
      notifier: new SnsNotifier(sns, topicArn),
      delivered: async () => {
        const got = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
        );
        for (const m of got.Messages ?? []) envelopes.push(JSON.parse(m.Body!) as Record<string, unknown>);
        return envelopes.map((e) => ({ subject: String(e.Subject), message: String(e.Message) }));
      },
      cleanup: async () => {},
    };
  });

  it('wraps each message in the SNS envelope (raw delivery off)', () => {
    expect(envelopes.length).toBeGreaterThan(0);
    for (const envelope of envelopes) {
      expect(envelope).toMatchObject({
        Type: 'Notification',
        MessageId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        TopicArn: topicArn,
        Message: expect.any(String),
      });
    }
  });
});
