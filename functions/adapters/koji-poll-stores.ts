import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import type { KojiTagChange } from '../../shared/koji-poll/history.ts';
import {
  CheckpointMovedError,
  type Clock,
  type KojiCheckpointStore,
  type KojiEventQueue,
} from '../../shared/ports.ts';
import { KOJI_SENT_RETENTION_SECONDS, stateKey } from '../../shared/state-table.ts';
import { epoch, isConditionFailure } from './dynamodb.ts';
import { AWS_CALL_LIMITS } from './limits.ts';

export const createSqsClient = () => new SQSClient({ ...AWS_CALL_LIMITS });

/** The poller's checkpoint per hub, in the state table, moved only from where it was read. */
export class DynamoKojiCheckpointStore implements KojiCheckpointStore {
  constructor(
    private readonly doc: Pick<DynamoDBDocumentClient, 'send'>,
    private readonly table: string,
    private readonly clock: Clock,
  ) {}

  async get(hub: string): Promise<number | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: stateKey.kojiCheckpoint(hub), ConsistentRead: true }),
    );
    return out.Item ? Number(out.Item.lastEvent) : undefined;
  }

  async advance(hub: string, from: number | undefined, to: number): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...stateKey.kojiCheckpoint(hub), lastEvent: to, movedAt: this.clock.now().toISOString() },
          ...(from === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'lastEvent = :from', ExpressionAttributeValues: { ':from': from } }),
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      throw new CheckpointMovedError(
        `the checkpoint of ${hub} is no longer ${from ?? 'unset'}: another poll moved it`,
      );
    }
  }
}

const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/**
 * The koji queue (a standard queue: no deduplication of its own). A change is sent, then marked
 * sent in the state table; a change already marked is skipped, so a run that repeats a page
 * after a crash sends nothing twice. Only a crash between SendMessageBatch and the mark can
 * repeat a change, and intake takes a repeated tag as no change.
 */
export class SqsKojiEventQueue implements KojiEventQueue {
  constructor(
    private readonly sqs: Pick<SQSClient, 'send'>,
    private readonly queueUrl: string,
    private readonly doc: Pick<DynamoDBDocumentClient, 'send'>,
    private readonly table: string,
    private readonly hub: string,
    private readonly clock: Clock,
  ) {}

  private async sentKeys(changes: readonly KojiTagChange[]): Promise<Set<string>> {
    const sent = new Set<string>();
    for (const chunk of chunks(changes, 100)) {
      let keys: Record<string, unknown>[] | undefined = chunk.map((c) => ({
        ...stateKey.kojiSent(this.hub, c.key),
      }));
      while (keys?.length) {
        const out: BatchGetCommandOutput = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.table] ?? []) sent.add(String(item.changeKey));
        keys = out.UnprocessedKeys?.[this.table]?.Keys;
      }
    }
    return sent;
  }

  private async markSent(change: KojiTagChange): Promise<void> {
    const expiration = epoch(this.clock.now()) + KOJI_SENT_RETENTION_SECONDS;
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...stateKey.kojiSent(this.hub, change.key), changeKey: change.key, expiration },
      }),
    );
  }

  async enqueue(changes: readonly KojiTagChange[]): Promise<{ sent: number; skipped: number }> {
    if (!changes.length) return { sent: 0, skipped: 0 };
    const already = await this.sentKeys(changes);
    const pending = changes.filter((c) => !already.has(c.key));
    const failed: string[] = [];
    for (const batch of chunks(pending, 10)) {
      const out = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((c, i) => ({
            Id: String(i),
            MessageBody: JSON.stringify(c.event),
            MessageAttributes: { kojiChange: { DataType: 'String', StringValue: c.key } },
          })),
        }),
      );
      const ok = new Set((out.Successful ?? []).map((s) => s.Id));
      await Promise.all(batch.filter((_, i) => ok.has(String(i))).map((c) => this.markSent(c)));
      for (const f of out.Failed ?? [])
        failed.push(`${batch[Number(f.Id)]?.key}: ${f.Code} ${f.Message ?? ''}`.trim());
    }
    if (failed.length)
      throw new Error(`koji queue refused ${failed.length} change(s): ${failed.slice(0, 3).join('; ')}`);
    return { sent: pending.length, skipped: changes.length - pending.length };
  }
}
