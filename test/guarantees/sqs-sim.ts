import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { sqsEvent, sqsRecord } from '../functions/support.ts';

/**
 * A standard SQS queue with a redrive policy, as the Lambda event source mapping drives it:
 * batches of up to 10 taken in a random order, at-least-once delivery, a failed record (listed
 * in batchItemFailures, or every record of a batch whose invocation threw) received again until
 * its receive count reaches maxReceiveCount, then moved to the dead-letter queue. Only the
 * queue is simulated; the handlers and stores behind it are the real ones.
 */
export interface QueuedMessage {
  id: string;
  body: string;
  senderId?: string;
  receives: number;
}

export class SimulatedQueue {
  readonly waiting: QueuedMessage[] = [];
  readonly deadLetters: QueuedMessage[] = [];
  readonly deleted: QueuedMessage[] = [];
  invocations = 0;
  crashes = 0;

  constructor(
    private readonly random: () => number,
    private readonly maxReceiveCount = 3,
  ) {}

  send(id: string, body: string, senderId?: string): void {
    this.waiting.push({ id, body, senderId, receives: 0 });
  }

  /** Delivers until the queue is empty. `crash(n)` makes invocation n throw after the handler ran. */
  async drain(
    handler: (event: SQSEvent) => Promise<SQSBatchResponse>,
    crash: (invocation: number) => boolean = () => false,
  ): Promise<void> {
    while (this.waiting.length) {
      const batch: QueuedMessage[] = [];
      while (batch.length < 10 && this.waiting.length)
        batch.push(this.waiting.splice(Math.floor(this.random() * this.waiting.length), 1)[0]!);
      for (const message of batch) message.receives++;
      const n = ++this.invocations;
      let failed: Set<string>;
      try {
        const response = await handler(sqsEvent(batch.map((m) => sqsRecord(m.id, m.body, m.senderId))));
        if (crash(n)) {
          this.crashes++;
          throw new Error(`invocation ${n} crashed after its work, before SQS deleted the batch`);
        }
        failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      } catch {
        failed = new Set(batch.map((m) => m.id));
      }
      for (const message of batch) {
        if (!failed.has(message.id)) this.deleted.push(message);
        else if (message.receives >= this.maxReceiveCount) this.deadLetters.push(message);
        else this.waiting.push(message);
      }
    }
  }
}
