import { DeleteCommand, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, Item } from './expressions.ts';
import {
  ConditionalCheckFailedError,
  type ConditionalWrite,
  type LocalTable,
  returnedAttributes,
} from './local-table.ts';

type Values = Record<string, unknown> | undefined;

// As createDocumentClient marshalls (functions/adapters/dynamodb.ts): undefined values dropped.
const toItem = (value: Record<string, unknown>): Item =>
  marshall(value, { removeUndefinedValues: true }) as unknown as Item;
const fromItem = (item: Item): Record<string, unknown> =>
  unmarshall(item as unknown as Parameters<typeof unmarshall>[0]);
const fromOptional = (item: Item | undefined) => (item ? fromItem(item) : undefined);

function write(condition: string | undefined, names: Record<string, string> | undefined, values: Values) {
  const out: ConditionalWrite = {};
  if (condition) out.condition = condition;
  if (names) out.names = names;
  if (values) out.values = toItem(values) as unknown as Record<string, AttributeValue>;
  return out;
}

/** Only NONE and ALL_OLD are valid ReturnValues of PutItem and DeleteItem. */
function oldAttributes(mode: string | undefined, before: Item | undefined) {
  if (mode !== undefined && mode !== 'NONE' && mode !== 'ALL_OLD')
    throw Object.assign(new Error(`ReturnValues ${mode} is not valid here`), { name: 'ValidationException' });
  return mode === 'ALL_OLD' && before ? { Attributes: fromItem(before) } : {};
}

/**
 * DynamoDBDocumentClient.send over the engine's local table, for the commands functions/'
 * DynamoDB adapters send (Get, Put, Update, Delete, Scan): the embedded engine runs the AWS
 * adapter code itself, on the table the state machines write, instead of stores that could
 * drift from it. Any other command is an error naming it.
 */
export class LocalDocumentClient {
  constructor(readonly table: LocalTable) {}

  async send(command: unknown): Promise<unknown> {
    try {
      return await this.serve(command);
    } catch (err) {
      // As DynamoDB does when asked: the old item, in wire form (the document client leaves errors alone).
      const input = (command as { input?: { ReturnValuesOnConditionCheckFailure?: string } }).input;
      if (
        err instanceof ConditionalCheckFailedError &&
        err.stored &&
        input?.ReturnValuesOnConditionCheckFailure === 'ALL_OLD'
      ) {
        Object.assign(err, { Item: err.stored });
      }
      throw err;
    }
  }

  private async serve(command: unknown): Promise<unknown> {
    if (command instanceof GetCommand) {
      const i = command.input;
      if (i.ProjectionExpression || i.AttributesToGet)
        throw new Error('the local table does not serve projections: read the whole item');
      const item = await this.table.get(toItem(i.Key ?? {}));
      return item ? { Item: fromItem(item) } : {};
    }
    if (command instanceof PutCommand) {
      const i = command.input;
      const before = await this.table.put(
        toItem(i.Item ?? {}),
        write(i.ConditionExpression, i.ExpressionAttributeNames, i.ExpressionAttributeValues),
      );
      return oldAttributes(i.ReturnValues, before);
    }
    if (command instanceof UpdateCommand) {
      const i = command.input;
      if (!i.UpdateExpression)
        throw new Error('the local table serves UpdateItem with an UpdateExpression only');
      const result = await this.table.update(
        toItem(i.Key ?? {}),
        i.UpdateExpression,
        write(i.ConditionExpression, i.ExpressionAttributeNames, i.ExpressionAttributeValues),
      );
      const attributes = fromOptional(returnedAttributes(i.ReturnValues, result));
      return attributes ? { Attributes: attributes } : {};
    }
    if (command instanceof DeleteCommand) {
      const i = command.input;
      const before = await this.table.delete(
        toItem(i.Key ?? {}),
        write(i.ConditionExpression, i.ExpressionAttributeNames, i.ExpressionAttributeValues),
      );
      return oldAttributes(i.ReturnValues, before);
    }
    if (command instanceof ScanCommand) {
      const i = command.input;
      const items = await this.table.scan({
        ...(i.FilterExpression ? { filter: i.FilterExpression } : {}),
        ...write(undefined, i.ExpressionAttributeNames, i.ExpressionAttributeValues),
      });
      return { Items: items.map(fromItem) };
    }
    throw new Error(`the local table does not serve ${(command as object).constructor.name}`);
  }
}
