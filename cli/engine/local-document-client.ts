import { DeleteCommand, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { type AttributeValue, evaluateCondition, type Item } from './expressions.ts';
import { ConditionalCheckFailedError, type ConditionalWrite, type LocalTable } from './local-table.ts';

type Values = Record<string, unknown> | undefined;

const toItem = (value: Record<string, unknown>): Item =>
  marshall(value, { removeUndefinedValues: true }) as unknown as Item;
const fromItem = (item: Item): Record<string, unknown> =>
  unmarshall(item as unknown as Parameters<typeof unmarshall>[0]);

function write(condition: string | undefined, names: Record<string, string> | undefined, values: Values) {
  const out: ConditionalWrite = {};
  if (condition) out.condition = condition;
  if (names) out.names = names;
  if (values) out.values = toItem(values) as unknown as Record<string, AttributeValue>;
  return out;
}

/**
 * The subset of DynamoDBDocumentClient.send the functions/ DynamoDB adapters use, over the
 * engine's local table. With it the embedded engine runs the AWS adapter code itself, on the
 * same table the state machines write, instead of a second store that could drift from it.
 */
export class LocalDocumentClient {
  constructor(private readonly table: LocalTable) {}

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
      const item = await this.table.get(toItem(command.input.Key ?? {}));
      return item ? { Item: fromItem(item) } : {};
    }
    if (command instanceof PutCommand) {
      const i = command.input;
      await this.table.put(
        toItem(i.Item ?? {}),
        write(i.ConditionExpression, i.ExpressionAttributeNames, i.ExpressionAttributeValues),
      );
      return {};
    }
    if (command instanceof UpdateCommand) {
      const i = command.input;
      const after = await this.table.update(
        toItem(i.Key ?? {}),
        i.UpdateExpression ?? '',
        write(i.ConditionExpression, i.ExpressionAttributeNames, i.ExpressionAttributeValues),
      );
      return i.ReturnValues === 'ALL_NEW' ? { Attributes: fromItem(after) } : {};
    }
    if (command instanceof DeleteCommand) {
      const i = command.input;
      await this.table.delete(
        toItem(i.Key ?? {}),
        write(i.ConditionExpression, i.ExpressionAttributeNames, i.ExpressionAttributeValues),
      );
      return {};
    }
    if (command instanceof ScanCommand) {
      const i = command.input;
      const filter = i.FilterExpression;
      const items = await this.table.scan();
      const kept = filter
        ? items.filter((item) =>
            evaluateCondition(
              filter,
              item,
              write(undefined, i.ExpressionAttributeNames, i.ExpressionAttributeValues),
            ),
          )
        : items;
      return { Items: kept.map(fromItem) };
    }
    throw new Error(`the local table does not serve ${(command as object).constructor.name}`);
  }
}
