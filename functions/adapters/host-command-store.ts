import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock, HostCommandRecord, HostCommandStore } from '../../shared/ports.ts';
import { HOST_COMMAND_RETENTION_SECONDS, stateKey } from '../../shared/state-table.ts';
import { epoch, isConditionFailure, scanAll } from './dynamodb.ts';

type DocumentClient = Pick<DynamoDBDocumentClient, 'send'>;

const RECORD_FIELDS = [
  'commandId',
  'taskToken',
  'execution',
  'state',
  'operation',
  'instanceId',
  'status',
  'sentAt',
  'deadlineAt',
  'finishedAt',
  'outcome',
] as const;

function toRecord(item: Record<string, unknown>): HostCommandRecord {
  return Object.fromEntries(
    RECORD_FIELDS.filter((k) => item[k] !== undefined).map((k) => [k, item[k]]),
  ) as unknown as HostCommandRecord;
}

/** Host command items in the state table (keys from shared/state-table.ts). */
export class DynamoHostCommandStore implements HostCommandStore {
  constructor(
    private readonly doc: DocumentClient,
    private readonly table: string,
    private readonly clock: Clock,
  ) {}

  private expiry(): number {
    return epoch(this.clock.now()) + HOST_COMMAND_RETENTION_SECONDS;
  }

  async claimToken(taskToken: string): Promise<boolean> {
    const digest = createHash('sha256').update(taskToken).digest('hex').slice(0, 40);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...stateKey.hostCommandToken(digest), expiration: this.expiry() },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async put(record: HostCommandRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...stateKey.hostCommand(record.commandId), ...record, expiration: this.expiry() },
      }),
    );
  }

  async get(commandId: string): Promise<HostCommandRecord | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: stateKey.hostCommand(commandId), ConsistentRead: true }),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async listRunning(): Promise<HostCommandRecord[]> {
    const items = await scanAll(this.doc, {
      TableName: this.table,
      FilterExpression: 'begins_with(pk, :prefix) AND #status = :running',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':prefix': 'HOSTCMD#', ':running': 'RUNNING' },
    });
    return items.map(toRecord).sort((a, b) => a.sentAt.localeCompare(b.sentAt));
  }

  async finish(
    commandId: string,
    status: Exclude<HostCommandRecord['status'], 'RUNNING'>,
    outcome: string,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: stateKey.hostCommand(commandId),
          UpdateExpression: 'SET #status = :status, finishedAt = :at, outcome = :outcome',
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': status,
            ':at': this.clock.now().toISOString(),
            ':outcome': outcome.slice(0, 1000),
            ':running': 'RUNNING',
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }
}
