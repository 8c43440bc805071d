import { createHash, randomUUID } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { snsSubject } from '../../../functions/adapters/sns.ts';
import type { Notifier } from '../../../shared/ports.ts';
import { type EngineListener, requireString, type TaskAdapter } from './types.ts';

/** An SQS message as a consumer Lambda receives it in its event's Records. */
export interface LocalSqsMessage {
  queue: string;
  body: string;
  /** The sender's identity, as SQS reports it in `attributes.SenderId`. */
  senderId: string;
}

/** SQS event of one record, shaped like the one Lambda's event source mapping delivers. */
export function sqsEvent(message: LocalSqsMessage): unknown {
  const messageId = randomUUID();
  return {
    Records: [
      {
        messageId,
        receiptHandle: messageId,
        body: message.body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: message.senderId,
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: createHash('md5').update(message.body).digest('hex'),
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:local:000000000000:${message.queue}`,
        awsRegion: 'local',
      },
    ],
  };
}

/** The identity a state machine's role sends messages as, locally. */
export const stateMachineSender = (machine: string) => `local:state-machine/${machine}`;

/** sqs:sendMessage hands the message to `deliver` (which runs the queue's consumer, as SQS would). */
export function createSqsAdapter(
  deliver: (message: LocalSqsMessage) => Promise<void>,
  queueOf: (url: string) => string,
): TaskAdapter {
  return async (input, task) => {
    // Step Functions serializes a JSON MessageBody; a string goes as it is.
    const body =
      typeof input.MessageBody === 'string' ? input.MessageBody : JSON.stringify(input.MessageBody);
    if (input.MessageBody === undefined) requireString(input, 'MessageBody', task);
    await deliver({
      queue: queueOf(requireString(input, 'QueueUrl', task)),
      body,
      senderId: stateMachineSender(task.stateMachine),
    });
    return { MessageId: randomUUID(), MD5OfMessageBody: createHash('md5').update(body).digest('hex') };
  };
}

/**
 * Notifications printed and appended to `<engine>/notifications.log`: the local SNS topic,
 * and the Notifier port for handlers run in-process.
 */
export class LogNotifier implements Notifier {
  readonly file: string;
  constructor(
    engineDir: string,
    private readonly listener?: EngineListener,
  ) {
    this.file = join(engineDir, 'notifications.log');
  }

  async publish(subject: string, message: string, execution = '-'): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true });
    const entry = { at: new Date().toISOString(), execution, subject: snsSubject(subject), message };
    await appendFile(this.file, `${JSON.stringify(entry)}\n`);
    this.listener?.({ execution, kind: 'notification', message: `${subject}: ${message}` });
  }
}

export function createSnsAdapter(notifier: Notifier): TaskAdapter {
  return async (input, task) => {
    const message = typeof input.Message === 'string' ? input.Message : JSON.stringify(input.Message);
    const subject = typeof input.Subject === 'string' ? input.Subject : task.state;
    await notifier.publish(subject, message);
    return { MessageId: randomUUID() };
  };
}
