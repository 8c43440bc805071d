import { errorMessage, errorName as nameOf } from '../../../shared/errors.ts';
import { lookupResource, type ResourceIndex } from '../definitions.ts';
import type { AttributeValue, Item } from '../expressions.ts';
import {
  ConditionalCheckFailedError,
  engineStateTable,
  type LocalTable,
  returnedAttributes,
} from '../local-table.ts';
import { requireString, serviceError, type TaskAdapter, type TaskContext } from './types.ts';

/**
 * The local table behind a template's DynamoDB table: the engine's one state table (an app
 * declares at most one, definitions.ts checks), with the key schema the template gives it.
 */
export function tableFor(engineDir: string, index: ResourceIndex, tableName: unknown): LocalTable {
  const [, keys] = lookupResource(index.tables, tableName, 'DynamoDB table');
  return engineStateTable(engineDir, keys);
}

/** The engine's state table with the key schema of the app's table, if it declares one. */
export function engineTableOf(engineDir: string, index: ResourceIndex): LocalTable {
  const [keys] = Object.values(index.tables);
  return keys ? engineStateTable(engineDir, keys) : engineStateTable(engineDir);
}

/** `DynamoDB.X` for optimized integrations, `DynamoDb.X` for aws-sdk ones: what Catch matches. */
function errorName(task: TaskContext, error: string): string {
  return `${task.resource.sdk ? 'DynamoDb' : 'DynamoDB'}.${error}`;
}

function writeOptions(input: Record<string, unknown>) {
  return {
    condition: input.ConditionExpression as string | undefined,
    names: input.ExpressionAttributeNames as Record<string, string> | undefined,
    values: input.ExpressionAttributeValues as Record<string, AttributeValue> | undefined,
  };
}

function returned(input: Record<string, unknown>, before: Item | undefined) {
  return input.ReturnValues === 'ALL_OLD' && before ? { Attributes: before } : {};
}

/** dynamodb:putItem/getItem/deleteItem/updateItem against the durable local tables. */
export function createDynamoDbAdapter(engineDir: string, index: ResourceIndex): TaskAdapter {
  return async (input, task) => {
    const table = tableFor(engineDir, index, requireString(input, 'TableName', task));
    try {
      switch (task.resource.action) {
        case 'putItem': {
          const item = input.Item as Item;
          return returned(input, await table.put(item, writeOptions(input)));
        }
        case 'getItem': {
          const item = await table.get(input.Key as Item);
          return item ? { Item: item } : {};
        }
        case 'deleteItem':
          return returned(input, await table.delete(input.Key as Item, writeOptions(input)));
        case 'updateItem': {
          const expression = requireString(input, 'UpdateExpression', task);
          const result = await table.update(input.Key as Item, expression, writeOptions(input));
          const attributes = returnedAttributes(input.ReturnValues, result);
          return attributes ? { Attributes: attributes } : {};
        }
      }
    } catch (err) {
      if (err instanceof ConditionalCheckFailedError) {
        throw serviceError(errorName(task, 'ConditionalCheckFailedException'), err.message);
      }
      if (nameOf(err) === 'ValidationException') {
        throw serviceError(errorName(task, 'ValidationException'), errorMessage(err));
      }
      throw err;
    }
    throw serviceError(
      'States.Runtime',
      `${task.state}: dynamodb:${task.resource.action} is not served locally`,
    );
  };
}
