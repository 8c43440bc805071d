import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  type ScanCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { errorName } from '../../shared/errors.ts';
import { type ApprovalResultV1, PendingApprovalV1 } from '../../shared/messages/promotion.ts';
import type {
  ApprovalStore,
  Clock,
  LaneCompose,
  LaneState,
  LaneStateStore,
  LockAdmin,
  LockAuditEntry,
  LockHolder,
  LockRecord,
  LockStore,
} from '../../shared/ports.ts';
import { AUDIT_PREFIX, AUDIT_RETENTION_SECONDS, type LockItem, stateKey } from '../../shared/state-table.ts';
import { AWS_CALL_LIMITS } from './limits.ts';

export const createDynamoClient = () => new DynamoDBClient({ ...AWS_CALL_LIMITS });
export const createDocumentClient = (client = createDynamoClient()) =>
  DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });

/** What the adapters need of a document client: AWS's, or the embedded engine's over its local table. */
export type DocumentClient = Pick<DynamoDBDocumentClient, 'send'>;

export const epoch = (date: Date) => Math.floor(date.getTime() / 1000);
export const isConditionFailure = (err: unknown) => errorName(err) === 'ConditionalCheckFailedException';

/** Every item a scan matches, across pages. */
export async function scanAll(
  doc: DocumentClient,
  input: ScanCommandInput,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: ScanCommandInput['ExclusiveStartKey'];
  do {
    const page = await doc.send(new ScanCommand({ ...input, ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/**
 * Lock items as shared/state-table.ts describes them, also written by the state machines; and
 * the operator's unlock with its audit records in the same table.
 */
export class DynamoLockStore implements LockStore, LockAdmin {
  constructor(
    private readonly doc: DocumentClient,
    private readonly table: string,
    private readonly clock: Clock,
  ) {}

  private toHolder(item: Record<string, unknown>): LockHolder {
    return {
      owner: String(item.owner),
      expiresAt: new Date(Number(item.expiresAtEpoch) * 1000).toISOString(),
    };
  }

  async acquire(name: string, owner: string, ttlSeconds: number) {
    const now = epoch(this.clock.now());
    const item: LockItem = {
      ...stateKey.lock(name),
      owner,
      expiresAtEpoch: now + ttlSeconds,
      expiration: now + ttlSeconds,
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAtEpoch < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': now, ':owner': owner },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { acquired: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // The document client unmarshalls outputs, never errors: the old item is in wire form.
      const old = (err as { Item?: Parameters<typeof unmarshall>[0] }).Item;
      return { acquired: false, ...(old ? { holder: this.toHolder(unmarshall(old)) } : {}) };
    }
  }

  async release(name: string, owner: string): Promise<void> {
    await this.releaseOwned(name, owner);
  }

  async holder(name: string): Promise<LockHolder | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: stateKey.lock(name), ConsistentRead: true }),
    );
    if (!out.Item || Number(out.Item.expiresAtEpoch) <= epoch(this.clock.now())) return undefined;
    return this.toHolder(out.Item);
  }

  async list() {
    const now = epoch(this.clock.now());
    const items = await scanAll(this.doc, {
      TableName: this.table,
      FilterExpression: 'begins_with(pk, :prefix) AND expiresAtEpoch > :now',
      ExpressionAttributeValues: { ':prefix': 'LOCK#', ':now': now },
    });
    return items.map((item) => ({ name: String(item.pk).slice('LOCK#'.length), ...this.toHolder(item) }));
  }

  async records(): Promise<LockRecord[]> {
    const now = epoch(this.clock.now());
    const items = await scanAll(this.doc, {
      TableName: this.table,
      FilterExpression: 'begins_with(pk, :prefix)',
      ExpressionAttributeValues: { ':prefix': 'LOCK#' },
      ConsistentRead: true,
    });
    return items
      .map((item) => ({
        name: String(item.pk).slice('LOCK#'.length),
        ...this.toHolder(item),
        expired: Number(item.expiresAtEpoch) <= now,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async releaseOwned(name: string, owner: string): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: stateKey.lock(name),
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async recordAudit(entry: LockAuditEntry): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...stateKey.audit(entry.at, `${entry.action}:${entry.lock}`),
          entry,
          expiration: epoch(new Date(entry.at)) + AUDIT_RETENTION_SECONDS,
        },
        // Two unlocks of one lock in the same millisecond must not overwrite each other's record.
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async auditTrail(): Promise<LockAuditEntry[]> {
    const items = await scanAll(this.doc, {
      TableName: this.table,
      FilterExpression: 'begins_with(pk, :prefix)',
      ExpressionAttributeValues: { ':prefix': AUDIT_PREFIX },
      ConsistentRead: true,
    });
    return items.map((item) => item.entry as LockAuditEntry).sort((a, b) => a.at.localeCompare(b.at));
  }
}

/** Approval items: the request under `approval`, `status` and `decision` beside it for conditions. */
export class DynamoApprovalStore implements ApprovalStore {
  constructor(
    private readonly doc: DocumentClient,
    private readonly table: string,
  ) {}

  private fromItem(item: Record<string, unknown>): PendingApprovalV1 {
    return PendingApprovalV1.parse({
      ...(item.approval as object),
      status: item.status,
      ...(item.decision ? { decision: item.decision } : {}),
    });
  }

  async put(approval: PendingApprovalV1): Promise<void> {
    const { status, decision, ...request } = approval;
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...stateKey.approval(approval.approvalId),
          approval: request,
          status,
          decision,
          expiration: epoch(new Date(approval.expiresAt)) + AUDIT_RETENTION_SECONDS,
        },
      }),
    );
  }

  async get(approvalId: string): Promise<PendingApprovalV1 | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: stateKey.approval(approvalId), ConsistentRead: true }),
    );
    return out.Item ? this.fromItem(out.Item) : undefined;
  }

  async decide(approvalId: string, outcome: ApprovalResultV1['outcome'], decision?: ApprovalResultV1) {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: stateKey.approval(approvalId),
          UpdateExpression: decision
            ? 'SET #status = :outcome, decision = :decision'
            : 'SET #status = :outcome',
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':outcome': outcome,
            ':pending': 'PENDING',
            ...(decision ? { ':decision': decision } : {}),
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async listPending(): Promise<PendingApprovalV1[]> {
    const items = await scanAll(this.doc, {
      TableName: this.table,
      FilterExpression: 'begins_with(pk, :prefix) AND #status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':prefix': 'APPROVAL#', ':pending': 'PENDING' },
    });
    return items.map((item) => this.fromItem(item));
  }
}

/** How many started composes a lane item keeps (enough to find the one holding the lock). */
const STARTED_KEPT = 10;

/** Lane state: the NVR set is a DynamoDB string set, so ADD/DELETE are atomic and idempotent. */
export class DynamoLaneStateStore implements LaneStateStore {
  constructor(
    private readonly doc: DocumentClient,
    private readonly table: string,
  ) {}

  private fromItem(laneId: string, item: Record<string, unknown> | undefined): LaneState {
    const nvrs = item?.nvrs instanceof Set ? [...(item.nvrs as Set<string>)].sort() : [];
    return {
      laneId,
      nvrs,
      started: (item?.started as LaneCompose[] | undefined) ?? [],
      ...(item?.succeededDigest ? { succeededDigest: String(item.succeededDigest) } : {}),
    };
  }

  async get(laneId: string): Promise<LaneState | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: stateKey.lane(laneId), ConsistentRead: true }),
    );
    return out.Item ? this.fromItem(laneId, out.Item) : undefined;
  }

  private async setUpdate(laneId: string, action: 'ADD' | 'DELETE', nvrs: string[]) {
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: stateKey.lane(laneId),
        UpdateExpression: `${action} nvrs :nvrs SET laneId = :lane`,
        ExpressionAttributeValues: { ':nvrs': new Set(nvrs), ':lane': laneId },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return this.fromItem(laneId, out.Attributes);
  }

  async applyTagChanges(laneId: string, add: string[], remove: string[]): Promise<LaneState> {
    // One expression may not ADD and DELETE the same attribute: two updates, each atomic.
    let state: LaneState | undefined;
    if (add.length) state = await this.setUpdate(laneId, 'ADD', add);
    if (remove.length) state = await this.setUpdate(laneId, 'DELETE', remove);
    return state ?? (await this.get(laneId)) ?? { laneId, nvrs: [], started: [] };
  }

  async addRequesters(executionName: string, users: string[]): Promise<void> {
    if (users.length === 0) return;
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: stateKey.requesters(executionName),
        UpdateExpression: 'ADD #users :users SET #expiration = :expiration',
        ExpressionAttributeNames: { '#users': 'users', '#expiration': 'expiration' },
        ExpressionAttributeValues: {
          ':users': new Set(users),
          ':expiration': Math.floor(Date.now() / 1000) + AUDIT_RETENTION_SECONDS,
        },
      }),
    );
  }

  async requesters(executionName: string): Promise<string[]> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: stateKey.requesters(executionName),
        ConsistentRead: true,
      }),
    );
    return out.Item?.users instanceof Set ? [...(out.Item.users as Set<string>)].sort() : [];
  }

  async recordStarted(laneId: string, compose: LaneCompose): Promise<void> {
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: stateKey.lane(laneId),
        UpdateExpression: 'SET started = list_append(if_not_exists(started, :empty), :one), laneId = :lane',
        ExpressionAttributeValues: { ':empty': [], ':one': [compose], ':lane': laneId },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const length = (out.Attributes?.started as unknown[] | undefined)?.length ?? 0;
    if (length > STARTED_KEPT) {
      const drop = Array.from({ length: length - STARTED_KEPT }, (_, i) => `started[${i}]`).join(', ');
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: stateKey.lane(laneId),
          UpdateExpression: `REMOVE ${drop}`,
        }),
      );
    }
  }

  async recordSucceeded(laneId: string, nvrDigest: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: stateKey.lane(laneId),
        UpdateExpression: 'SET succeededDigest = :digest',
        ExpressionAttributeValues: { ':digest': nvrDigest },
      }),
    );
  }
}
