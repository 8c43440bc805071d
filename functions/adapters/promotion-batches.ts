import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { StagingReadyV1 } from '../../shared/messages/promotion.ts';
import type { Clock, PromotionBatch, PromotionBatchStore } from '../../shared/ports.ts';
import { AUDIT_RETENTION_SECONDS, stateKey } from '../../shared/state-table.ts';
import { epoch, isConditionFailure } from './dynamodb.ts';

/**
 * Promotion batches in the state table (shared/state-table.ts keys). A batch's releases are a
 * map of release key -> StagingReadyV1 as a JSON string: the promotion state machine closes the
 * batch with a direct UpdateItem and parses each value with States.StringToJson.
 */
export class DynamoPromotionBatchStore implements PromotionBatchStore {
  constructor(
    private readonly doc: Pick<DynamoDBDocumentClient, 'send'>,
    private readonly table: string,
    private readonly clock: Clock,
  ) {}

  private expiration(): number {
    return epoch(this.clock.now()) + AUDIT_RETENTION_SECONDS;
  }

  private async conditional(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  private fromItem(item: Record<string, unknown>): PromotionBatch {
    const stored = (item.releases ?? {}) as Record<string, string>;
    return {
      batchId: String(item.batchId),
      closed: item.closed === true,
      openedAt: String(item.openedAt),
      releases: Object.fromEntries(
        Object.entries(stored).map(([key, json]) => [key, StagingReadyV1.parse(JSON.parse(json))]),
      ),
    };
  }

  private async read(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
    const out = (await this.doc.send(
      new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }),
    )) as { Item?: Record<string, unknown> };
    return out.Item;
  }

  async openBatchId(): Promise<string | undefined> {
    const item = await this.read(stateKey.promotionBatchPointer());
    return item ? String(item.batchId) : undefined;
  }

  async get(batchId: string): Promise<PromotionBatch | undefined> {
    const item = await this.read(stateKey.promotionBatch(batchId));
    return item ? this.fromItem(item) : undefined;
  }

  async open(batchId: string, previous: string | undefined, openedAt: Date): Promise<boolean> {
    // The batch first (a retry finds it made), then the pointer: a batch nobody points at is
    // never joined and expires.
    await this.conditional(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...stateKey.promotionBatch(batchId),
            batchId,
            closed: false,
            openedAt: openedAt.toISOString(),
            releases: {},
            expiration: this.expiration(),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    return this.conditional(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...stateKey.promotionBatchPointer(), batchId },
          ...(previous
            ? {
                ConditionExpression: 'batchId = :previous',
                ExpressionAttributeValues: { ':previous': previous },
              }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      ),
    );
  }

  async addRelease(batchId: string, key: string, release: StagingReadyV1): Promise<boolean> {
    return this.conditional(() =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: stateKey.promotionBatch(batchId),
          UpdateExpression: 'SET releases.#key = :release',
          ConditionExpression:
            'attribute_exists(pk) AND closed = :open AND attribute_not_exists(releases.#key)',
          ExpressionAttributeNames: { '#key': key },
          ExpressionAttributeValues: { ':release': JSON.stringify(release), ':open': false },
        }),
      ),
    );
  }

  async claim(key: string, batchId: string): Promise<string | undefined> {
    const claimed = await this.conditional(() =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...stateKey.promotionClaim(key), batchId, expiration: this.expiration() },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    if (claimed) return batchId;
    const item = await this.read(stateKey.promotionClaim(key));
    // Unclaimed between the two calls: the caller tries again.
    return item ? String(item.batchId) : undefined;
  }

  async unclaim(key: string, batchId: string): Promise<void> {
    await this.conditional(() =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: stateKey.promotionClaim(key),
          ConditionExpression: 'batchId = :batch',
          ExpressionAttributeValues: { ':batch': batchId },
        }),
      ),
    );
  }

  async close(batchId: string): Promise<PromotionBatch | undefined> {
    try {
      const out = (await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: stateKey.promotionBatch(batchId),
          UpdateExpression: 'SET closed = :closed',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':closed': true },
          ReturnValues: 'ALL_NEW',
        }),
      )) as { Attributes?: Record<string, unknown> };
      return out.Attributes ? this.fromItem(out.Attributes) : undefined;
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }
}
